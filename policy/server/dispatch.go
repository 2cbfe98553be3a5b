package server

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vstgo/vst/policy"
)

// dispatcher runs policy calls. Plain policies are called concurrently from
// each client's goroutine; a BatchPolicy is called from one goroutine that
// gathers concurrent requests into one ActBatch call.
type dispatcher struct {
	p        policy.Policy
	bp       policy.BatchPolicy
	maxBatch int
	maxWait  time.Duration
	// clients counts connected clients: a batch waits (up to maxWait) for
	// at most that many requests.
	clients atomic.Int64
	reqs    chan *request
	done    chan struct{}
}

type request struct {
	obs    *policy.Observation
	result chan result
}

type result struct {
	chunk   *policy.Chunk
	inferMs float64
	err     error
}

func newDispatcher(p policy.Policy, maxBatch int, maxWait time.Duration) *dispatcher {
	d := &dispatcher{p: p, maxBatch: maxBatch, maxWait: maxWait, done: make(chan struct{})}
	if bp, ok := p.(policy.BatchPolicy); ok && maxBatch > 1 {
		d.bp = bp
		d.reqs = make(chan *request, maxBatch)
	}
	return d
}

// run serves batches until ctx ends; it returns at once for plain policies.
func (d *dispatcher) run(ctx context.Context) {
	defer close(d.done)
	if d.bp == nil {
		return
	}
	for {
		var first *request
		select {
		case <-ctx.Done():
			return
		case first = <-d.reqs:
		}
		d.serveBatch(ctx, d.collect(ctx, first))
	}
}

// collect gathers up to maxBatch requests: everything already queued, and
// while fewer requests than connected clients are in hand, what arrives
// within maxWait.
func (d *dispatcher) collect(ctx context.Context, first *request) []*request {
	batch := []*request{first}
	timer := time.NewTimer(d.maxWait)
	defer timer.Stop()
	for len(batch) < d.maxBatch {
		if int64(len(batch)) >= d.clients.Load() {
			select {
			case r := <-d.reqs:
				batch = append(batch, r)
				continue
			default:
				return batch
			}
		}
		select {
		case r := <-d.reqs:
			batch = append(batch, r)
		case <-timer.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

func (d *dispatcher) serveBatch(ctx context.Context, batch []*request) {
	obs := make([]*policy.Observation, len(batch))
	for i, r := range batch {
		obs[i] = r.obs
	}
	start := time.Now()
	chunks, err := d.bp.ActBatch(ctx, obs)
	ms := sinceMs(start)
	if err == nil && len(chunks) != len(batch) {
		err = fmt.Errorf("batch policy returned %d chunks for %d observations", len(chunks), len(batch))
	}
	for i, r := range batch {
		if err != nil {
			r.result <- result{err: err}
			continue
		}
		r.result <- result{chunk: chunks[i], inferMs: ms}
	}
}

// act answers one observation, returning the chunk and the policy's
// wall time in milliseconds.
func (d *dispatcher) act(ctx context.Context, obs *policy.Observation) (*policy.Chunk, float64, error) {
	var res result
	if d.bp == nil {
		start := time.Now()
		res.chunk, res.err = d.p.Act(ctx, obs)
		res.inferMs = sinceMs(start)
	} else {
		r := &request{obs: obs, result: make(chan result, 1)}
		select {
		case d.reqs <- r:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-d.done:
			return nil, 0, errShuttingDown
		}
		select {
		case res = <-r.result:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-d.done:
			select {
			case res = <-r.result:
			default:
				return nil, 0, errShuttingDown
			}
		}
	}
	if res.err != nil {
		return nil, 0, res.err
	}
	if res.chunk == nil || res.chunk.Validate() != nil {
		return nil, 0, errBadChunk
	}
	return res.chunk, res.inferMs, nil
}

func sinceMs(t time.Time) float64 {
	return float64(time.Since(t)) / float64(time.Millisecond)
}
