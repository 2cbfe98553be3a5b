package policy

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	r.Register("echo", func(_ context.Context, arg string, o BuildOptions) (Policy, error) {
		return NewConstant([]float32{float32(len(arg))}, o.Horizon)
	})
	require.Equal(t, []string{"constant", "echo", "random"}, r.Kinds())
	ctx := context.Background()
	for _, ca := range []struct {
		spec string
		opts BuildOptions
		want Spec
		err  string
	}{
		{spec: "constant", want: Spec{Name: "constant", ActionDim: 7, Horizon: 8}},
		{spec: "constant=0.5, 0, -1", opts: BuildOptions{Horizon: 2}, want: Spec{Name: "constant", ActionDim: 3, Horizon: 2}},
		{spec: "random", opts: BuildOptions{ActionDim: 14, Horizon: 25}, want: Spec{Name: "random", ActionDim: 14, Horizon: 25}},
		{spec: "random=9", want: Spec{Name: "random", ActionDim: 7, Horizon: 8}},
		{spec: "echo=ws://x", want: Spec{Name: "constant", ActionDim: 1, Horizon: 8}},
		{spec: "constant=1,x", err: `policy constant=1,x: action value 1 "x" is not a number`},
		{spec: "random=-1", err: `policy random=-1: seed "-1" is not a non-negative integer`},
		{spec: "model=/m", err: `unknown policy "model" (known: constant, echo, random)`},
	} {
		t.Run(ca.spec, func(t *testing.T) {
			p, err := r.Build(ctx, ca.spec, ca.opts)
			if ca.err != "" {
				require.EqualError(t, err, ca.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, ca.want, p.Spec())
		})
	}
}
