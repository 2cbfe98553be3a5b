package policy

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// BuildOptions are the settings shared by every policy a Registry builds.
type BuildOptions struct {
	// ActionDim is D for policies that do not fix it themselves.
	// It defaults to 7.
	ActionDim int
	// Horizon is H for policies that do not fix it themselves.
	// It defaults to 8.
	Horizon int
	// Seed seeds random policies unless their spec names a seed.
	// It defaults to 0.
	Seed uint64
}

// Factory builds a policy from the argument of a "kind=arg" spec (empty
// for a bare "kind").
type Factory func(ctx context.Context, arg string, opts BuildOptions) (Policy, error)

// Registry turns policy specs such as "constant", "random=3",
// "model=DIR" or "server=ws://host:8000" into policies. Commands build one
// with NewRegistry and register the kinds that live in other packages
// (the VLA model, the remote client), which keeps this package free of
// their imports.
type Registry struct {
	factories map[string]Factory
}

// NewRegistry returns a registry with the built-in kinds:
//
//   - "constant" or "constant=v1,v2,…": repeats the given action (zeros of
//     ActionDim when bare) over Horizon steps;
//   - "random" or "random=SEED": uniform in [-1, 1] per dimension.
func NewRegistry() *Registry {
	r := &Registry{factories: map[string]Factory{}}
	r.Register("constant", func(_ context.Context, arg string, o BuildOptions) (Policy, error) {
		action := make([]float32, o.ActionDim)
		if arg != "" {
			action = action[:0]
			for i, f := range strings.Split(arg, ",") {
				v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
				if err != nil {
					return nil, fmt.Errorf("action value %d %q is not a number", i, f)
				}
				action = append(action, float32(v))
			}
		}
		return NewConstant(action, o.Horizon)
	})
	r.Register("random", func(_ context.Context, arg string, o BuildOptions) (Policy, error) {
		seed := o.Seed
		if arg != "" {
			s, err := strconv.ParseUint(arg, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("seed %q is not a non-negative integer", arg)
			}
			seed = s
		}
		low, high := make([]float32, o.ActionDim), make([]float32, o.ActionDim)
		for i := range low {
			low[i], high[i] = -1, 1
		}
		return NewRandom(low, high, o.Horizon, seed)
	})
	return r
}

// Register adds or replaces the factory of kind.
func (r *Registry) Register(kind string, f Factory) { r.factories[kind] = f }

// Kinds returns the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	kinds := make([]string, 0, len(r.factories))
	for k := range r.factories {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

// Build parses spec ("kind" or "kind=arg") and builds the policy.
func (r *Registry) Build(ctx context.Context, spec string, opts BuildOptions) (Policy, error) {
	if opts.ActionDim <= 0 {
		opts.ActionDim = 7
	}
	if opts.Horizon <= 0 {
		opts.Horizon = 8
	}
	kind, arg, _ := strings.Cut(spec, "=")
	f, ok := r.factories[kind]
	if !ok {
		return nil, fmt.Errorf("unknown policy %q (known: %s)", kind, strings.Join(r.Kinds(), ", "))
	}
	p, err := f(ctx, arg, opts)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", spec, err)
	}
	return p, nil
}
