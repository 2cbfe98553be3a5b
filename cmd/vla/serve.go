package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/policy/server"
	"github.com/vstgo/vst/policy/wire"
)

func newServeCmd() *cobra.Command {
	var (
		spec        string
		opts        policy.BuildOptions
		s           server.Server
		maxElements int
		upstream    string
		verbose     bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a policy over openpi's WebSocket protocol and the OpenVLA REST API",
		Long: `serve answers remote clients with a policy's action chunks.

It speaks openpi's protocol byte-exactly on any WebSocket path (metadata frame on
connect, msgpack-numpy observations with the LIBERO keys observation/image,
observation/wrist_image, observation/state and prompt, answers with actions,
policy_timing and server_timing), so openpi's LIBERO, ALOHA and DROID client
scripts work unchanged. POST /act takes OpenVLA and OpenVLA-OFT json-numpy bodies;
GET /healthz answers "OK".

It binds to loopback unless --addr says otherwise. With --token (or $VLA_TOKEN),
clients must send "Authorization: Bearer <token>" (openpi's "Api-Key <token>" works
too). Frames, arrays and client count are bounded, idle clients are dropped,
concurrent requests are batched when the policy supports it, and Ctrl-C drains
in-flight requests before exiting.

Policies: constant[=v1,v2,…], random[=SEED], server=ws://host:port (proxy).`,
		Example: `  vla serve --policy constant --action-dim 7 --horizon 10
  vla serve --policy constant=0,0,0,0,0,0,-1 --addr 127.0.0.1:8000 --token s3cret
  vla serve --policy random=1 --addr 0.0.0.0:8000 --max-frame-bytes 8388608
  vla serve --policy server=ws://gpu-box:8000 --addr 127.0.0.1:9000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if s.Token == "" {
				s.Token = os.Getenv("VLA_TOKEN")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			p, err := policyRegistry(upstream).Build(ctx, spec, opts)
			if err != nil {
				return err
			}
			if c, ok := p.(io.Closer); ok {
				defer c.Close()
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			s.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			s.Policy = p
			s.Limits = wire.Limits{MaxElements: maxElements}
			if err := s.Start(); err != nil {
				return err
			}
			addr := s.Addr().String()
			fmt.Fprintf(cmd.OutOrStdout(), "serving policy %s on ws://%s (openpi), POST http://%s/act, GET http://%s/healthz\n",
				p.Spec().Name, addr, addr, addr)
			<-ctx.Done()
			fmt.Fprintln(cmd.OutOrStdout(), "shutting down: draining in-flight requests")
			s.Close()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec, "policy", "constant", "policy to serve: constant[=v1,v2,…], random[=SEED], server=ws://host:port")
	f.StringVar(&s.Address, "addr", "127.0.0.1:8000", "listen address (use 0.0.0.0:8000 to serve other machines)")
	f.StringVar(&s.Token, "token", "", "require this bearer token from clients (default $VLA_TOKEN)")
	f.StringVar(&upstream, "upstream-token", "", "bearer token for a server=ws://… policy")
	f.Int64Var(&s.MaxFrameBytes, "max-frame-bytes", 64<<20, "largest request frame or POST body in bytes")
	f.IntVar(&maxElements, "max-array-elements", 1<<24, "largest number of items in one request array")
	f.IntVar(&s.MaxClients, "max-clients", 64, "largest number of clients served at once")
	f.IntVar(&s.MaxBatch, "max-batch", 8, "largest batch of concurrent requests for a batching policy")
	f.DurationVar(&s.IdleTimeout, "idle-timeout", 5*time.Minute, "drop clients idle for longer")
	f.IntVar(&opts.ActionDim, "action-dim", 7, "action dimension D for constant and random policies")
	f.IntVar(&opts.Horizon, "horizon", 8, "action chunk length H for constant and random policies")
	f.Uint64Var(&opts.Seed, "seed", 0, "seed of the random policy")
	f.BoolVarP(&verbose, "verbose", "v", false, "log connections and control frames")
	return cmd
}
