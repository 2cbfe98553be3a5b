package bench

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"
)

// Result is a benchmark run's outcome. Its JSON form has the fields
// suite, success_rate, tasks (task, instruction, episodes, successes,
// success_rate) and env_steps_per_sec, plus the details below.
type Result struct {
	// Suite is the suite name.
	Suite string `json:"suite"`
	// SuccessRate is the fraction of successful episodes.
	SuccessRate float64 `json:"success_rate"`
	// Tasks are the per-task counts, by task index (tasks without
	// episodes in this result are left out).
	Tasks []TaskResult `json:"tasks"`
	// EnvStepsPerSec is the policy-driven environment steps per second of
	// wall-clock time, all workers together (summed over the shards of a
	// merged result).
	EnvStepsPerSec float64 `json:"env_steps_per_sec"`
	// SimStepsPerSec is the steps per second of time spent inside the
	// simulator's Step (physics, control and rendering), per worker.
	SimStepsPerSec float64 `json:"sim_steps_per_sec"`
	// Successes counts the successful episodes.
	Successes int `json:"successes"`
	// EpisodeCount is the number of episodes.
	EpisodeCount int `json:"episodes"`
	// EnvSteps counts the policy-driven environment steps.
	EnvSteps int `json:"env_steps"`
	// ElapsedSec is the wall-clock time of the run (the longest shard's,
	// for a merged result).
	ElapsedSec float64 `json:"elapsed_sec"`
	// Workers is the number of parallel workers (summed over shards).
	Workers int `json:"workers"`
	// PolicyLatencyMS summarizes the policy's Act times.
	PolicyLatencyMS Latency `json:"policy_latency_ms"`
	// Shard is the part of the suite this result covers (nil: all of the
	// selection, or a merged result).
	Shard *Shard `json:"shard,omitempty"`
	// Episodes lists every episode, by task then episode.
	Episodes []Episode `json:"episode_results"`
}

// TaskResult counts one task's episodes.
type TaskResult struct {
	// Task is the task's index in its suite.
	Task int `json:"task"`
	// Name is the task's identifier.
	Name string `json:"name"`
	// Instruction is the task's language instruction.
	Instruction string `json:"instruction"`
	// Episodes counts the task's episodes.
	Episodes int `json:"episodes"`
	// Successes counts the successful episodes.
	Successes int `json:"successes"`
	// SuccessRate is Successes/Episodes.
	SuccessRate float64 `json:"success_rate"`
}

// Episode is one episode's outcome.
type Episode struct {
	// Task is the task index.
	Task int `json:"task"`
	// Episode is the initial-state number.
	Episode int `json:"episode"`
	// Success is whether the goal was reached.
	Success bool `json:"success"`
	// Steps is the number of policy-driven environment steps.
	Steps int `json:"steps"`
	// Reason says why a failed episode ended (the step limit, a policy
	// error, a simulator instability); empty on success.
	Reason string `json:"reason,omitempty"`
	// Video is the file name of the episode's video, if one was written.
	Video string `json:"video,omitempty"`
}

// Latency summarizes policy call times in milliseconds.
type Latency struct {
	// Calls is the number of Act calls.
	Calls int `json:"calls"`
	// P50 is the median. In a merged result it is the call-weighted mean
	// of the shards' medians (an approximation).
	P50 float64 `json:"p50"`
	// P99 is the 99th percentile. In a merged result it is the largest of
	// the shards' (an upper bound).
	P99 float64 `json:"p99"`
}

// summarize sorts the episodes and recomputes the counts and rates from
// them; info supplies task names and instructions by index.
func (r *Result) summarize(info map[int]TaskResult) {
	slices.SortFunc(r.Episodes, func(a, b Episode) int {
		return cmp.Or(cmp.Compare(a.Task, b.Task), cmp.Compare(a.Episode, b.Episode))
	})
	if r.Episodes == nil {
		r.Episodes = []Episode{}
	}
	r.Tasks, r.Successes, r.EpisodeCount, r.EnvSteps = []TaskResult{}, 0, len(r.Episodes), 0
	for _, ep := range r.Episodes {
		if n := len(r.Tasks); n == 0 || r.Tasks[n-1].Task != ep.Task {
			tr := info[ep.Task]
			tr.Task, tr.Episodes, tr.Successes = ep.Task, 0, 0
			r.Tasks = append(r.Tasks, tr)
		}
		tr := &r.Tasks[len(r.Tasks)-1]
		tr.Episodes++
		r.EnvSteps += ep.Steps
		if ep.Success {
			tr.Successes++
			r.Successes++
		}
	}
	for i := range r.Tasks {
		r.Tasks[i].SuccessRate = float64(r.Tasks[i].Successes) / float64(r.Tasks[i].Episodes)
	}
	r.SuccessRate = 0
	if r.EpisodeCount > 0 {
		r.SuccessRate = float64(r.Successes) / float64(r.EpisodeCount)
	}
}

// Merge joins the results of shards of one suite. It fails when the
// suites differ or an episode appears twice. Counts and rates are
// recomputed from the episodes; throughput and workers are summed (the
// shards are assumed to run at the same time), elapsed time is the
// longest shard's.
func Merge(results ...*Result) (*Result, error) {
	if len(results) == 0 {
		return nil, errors.New("bench: merge: no results")
	}
	out := &Result{Suite: results[0].Suite}
	info := map[int]TaskResult{}
	type key struct{ task, ep int }
	seen := map[key]int{}
	var p50Sum float64
	for i, r := range results {
		if r == nil {
			return nil, fmt.Errorf("bench: merge: result %d is nil", i)
		}
		if r.Suite != out.Suite {
			return nil, fmt.Errorf("bench: merge: result %d is of suite %q, result 0 of %q", i, r.Suite, out.Suite)
		}
		for _, t := range r.Tasks {
			info[t.Task] = t
		}
		for _, ep := range r.Episodes {
			k := key{ep.Task, ep.Episode}
			if j, dup := seen[k]; dup {
				return nil, fmt.Errorf("bench: merge: task %d episode %d is in results %d and %d", ep.Task, ep.Episode, j, i)
			}
			seen[k] = i
			out.Episodes = append(out.Episodes, ep)
		}
		out.EnvStepsPerSec += r.EnvStepsPerSec
		out.SimStepsPerSec += r.SimStepsPerSec * float64(r.EnvSteps)
		out.Workers += r.Workers
		out.ElapsedSec = max(out.ElapsedSec, r.ElapsedSec)
		out.PolicyLatencyMS.Calls += r.PolicyLatencyMS.Calls
		out.PolicyLatencyMS.P99 = max(out.PolicyLatencyMS.P99, r.PolicyLatencyMS.P99)
		p50Sum += r.PolicyLatencyMS.P50 * float64(r.PolicyLatencyMS.Calls)
	}
	if c := out.PolicyLatencyMS.Calls; c > 0 {
		out.PolicyLatencyMS.P50 = p50Sum / float64(c)
	}
	weight := out.SimStepsPerSec
	out.summarize(info)
	out.SimStepsPerSec = 0
	if out.EnvSteps > 0 {
		out.SimStepsPerSec = weight / float64(out.EnvSteps)
	}
	return out, nil
}

// WriteTable prints the per-task and per-suite success table.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "task\tsuccesses\trate\t\tinstruction")
	for _, t := range r.Tasks {
		fmt.Fprintf(tw, "%d\t%d/%d\t%.1f%%\t\t%s\n", t.Task, t.Successes, t.Episodes, 100*t.SuccessRate, t.Instruction)
	}
	fmt.Fprintf(tw, "all\t%d/%d\t%.1f%%\t\t%s\n", r.Successes, r.EpisodeCount, 100*r.SuccessRate, r.Suite)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d env steps in %.1f s: %.0f steps/s (%d workers), %.0f steps/s per worker inside the simulator; policy p50 %.3g ms, p99 %.3g ms\n",
		r.EnvSteps, r.ElapsedSec, r.EnvStepsPerSec, r.Workers, r.SimStepsPerSec, r.PolicyLatencyMS.P50, r.PolicyLatencyMS.P99)
	return err
}

// WriteJSON writes the result as indented JSON to path.
func (r *Result) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// ReadResult reads a result written by WriteJSON.
func ReadResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	if r.Suite == "" {
		return nil, fmt.Errorf("bench: %s: no suite: not a benchmark result", path)
	}
	return &r, nil
}
