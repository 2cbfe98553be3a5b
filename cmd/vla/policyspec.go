package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/policy/remote"
	vlamodel "github.com/vstgo/vst/vla/model"
)

// models caches loaded VLA checkpoints by directory: a checkpoint is
// loaded once per process and shared by every worker and connection (its
// Act is safe for concurrent use).
var models struct {
	sync.Mutex
	byDir map[string]*vlamodel.VLA
}

// sharedModel is a loaded checkpoint as a policy without Close, so that a
// worker finishing with it does not close it for the others.
// (A named field, not an embedded one: embedding would promote Close.)
type sharedModel struct{ m *vlamodel.VLA }

// Spec implements policy.Policy.
func (s sharedModel) Spec() policy.Spec { return s.m.Spec() }

// Act implements policy.Policy.
func (s sharedModel) Act(ctx context.Context, obs *policy.Observation) (*policy.Chunk, error) {
	return s.m.Act(ctx, obs)
}

// loadModel returns the shared VLA policy of a checkpoint directory.
func loadModel(dir string) (policy.Policy, error) {
	if dir == "" {
		return nil, errors.New("model needs a checkpoint directory: model=DIR")
	}
	models.Lock()
	defer models.Unlock()
	if m, ok := models.byDir[dir]; ok {
		return sharedModel{m}, nil
	}
	m, err := vlamodel.Load(dir)
	if err != nil {
		return nil, err
	}
	if models.byDir == nil {
		models.byDir = map[string]*vlamodel.VLA{}
	}
	models.byDir[dir] = m
	return sharedModel{m}, nil
}

// policyRegistry returns the policy kinds the commands accept (serve,
// bench): the built-in ones and "server=ws://…" (a remote openpi-protocol
// server, with token as its bearer token) and "model=DIR" (a VLA checkpoint
// written by vla finetune, loaded once and shared).
func policyRegistry(token string) *policy.Registry {
	r := policy.NewRegistry()
	r.Register("server", func(ctx context.Context, url string, _ policy.BuildOptions) (policy.Policy, error) {
		if url == "" {
			return nil, fmt.Errorf("server needs a URL: server=ws://host:8000")
		}
		return remote.Dial(ctx, url, remote.Options{Token: token})
	})
	r.Register("model", func(_ context.Context, dir string, _ policy.BuildOptions) (policy.Policy, error) {
		return loadModel(dir)
	})
	return r
}
