package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/camera"
	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/mqtt"
	"github.com/vstgo/vst/robot/node"
	"github.com/vstgo/vst/robot/ros1"
	"github.com/vstgo/vst/robot/safety"
	"github.com/vstgo/vst/sim"
	"github.com/vstgo/vst/sim/suite"
)

// runOptions are vla run's flags.
type runOptions struct {
	embodiment, policy, instruction string
	cameras                         []string
	ros1                            string
	ros2                            bool
	mqtt, robotID                   string
	sim                             string
	fake                            bool
	steps                           int
	dryRun                          bool
	rate                            float64
	horizon, execute                int
	seed                            uint64
	token, jsonOut                  string
	verbose                         bool
}

func newRunCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a policy as the robot's controller (camera/sim → policy → safety → ROS/sim)",
		Long: `run drives a robot, or the simulator, with a policy: observations come from cameras
(--camera) and ROS (--ros1 MASTER_URI or --ros2), or from a simulated LIBERO task (--sim);
the policy proposes action chunks; every command passes the safety filter of the
embodiment (--embodiment: a spec file or a built-in name) and goes out over ROS or to
the simulator.

Dry run is the default except with --sim: commands are computed, checked and counted
but never sent. Pass --dry-run=false to move a real robot.

With --mqtt the node reports telemetry every 500 ms and events (safety stops, episode
results) on vla/<robot-id>/…, and obeys commands on vla/<robot-id>/cmd: estop, reset,
start (with an instruction: a new episode) and stop (a controlled stop). It then stays
up after an episode ends, waiting for the next start, until SIGINT or SIGTERM.
SIGINT and SIGTERM always end with a controlled stop. A per-stage latency table
(p50/p99) is printed at the end.

Policies: expert (scripted, privileged state; --sim only), random[=SEED],
constant[=v1,…], server=ws://host:port (an openpi-protocol server), model=DIR.`,
		Example: `  vla run --sim libero_spatial/0 --policy expert --steps 300
  vla run --sim libero_goal/3/7 --policy server=ws://gpu-box:8000 --mqtt tcp://broker:1883 --robot-id sim1
  vla run --embodiment arm6dof --ros1 http://robot:11311 --camera front=0 --camera wrist=/dev/video2 \
      --policy model=ckpt/ --instruction "put the cup on the plate"            # dry run
  vla run --embodiment my_arm.yaml --ros1 http://robot:11311 --policy model=ckpt/ --dry-run=false
  vla run --embodiment mobile_base --camera rtsp://cam/stream --ros2 --policy random --rate 5
  vla run --fake --policy constant --steps 400 --dry-run=false                # controller overhead`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("dry-run") {
				o.dryRun = o.sim == ""
			}
			return runRobot(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.embodiment, "embodiment", "panda_sim", "embodiment spec: a .yaml/.json file or a built-in ("+strings.Join(embodiment.Builtins(), ", ")+")")
	f.StringVar(&o.policy, "policy", "", "policy: expert (with --sim), random[=SEED], constant[=v1,…], server=ws://host:port, model=DIR")
	f.StringVar(&o.instruction, "instruction", "", "language instruction (default the --sim task's)")
	f.StringArrayVar(&o.cameras, "camera", nil, "camera source (index, URL, video file), or NAME=SRC for the embodiment's camera NAME; repeatable")
	f.StringVar(&o.ros1, "ros1", "", "ROS 1 master URI (http://host:11311): state from ROS topics, commands published to ROS")
	f.BoolVar(&o.ros2, "ros2", false, "use ROS 2 (CycloneDDS, $ROS_DOMAIN_ID); needs a build with -tags ros2")
	f.StringVar(&o.mqtt, "mqtt", "", "MQTT broker (tcp://host:1883, ssl://…) for telemetry, events and commands")
	f.StringVar(&o.robotID, "robot-id", "robot", "robot id in the MQTT topics")
	f.StringVar(&o.sim, "sim", "", "drive the simulator instead of hardware: SUITE/TASK[/EPISODE], e.g. libero_spatial/0")
	f.BoolVar(&o.fake, "fake", false, "no hardware: blank cameras, zero state, commands discarded (measures controller overhead)")
	f.IntVar(&o.steps, "steps", 0, "control ticks per episode (default: until the episode ends or a signal)")
	f.BoolVar(&o.dryRun, "dry-run", true, "compute, check and count commands without sending them (default true, false with --sim)")
	f.Float64Var(&o.rate, "rate", 0, "control rate in Hz (default the embodiment's)")
	f.IntVar(&o.horizon, "horizon", 8, "action chunk length of constant and random policies")
	f.IntVar(&o.execute, "execute", 0, "actions executed from each chunk before the next (default the whole chunk)")
	f.Uint64Var(&o.seed, "seed", 0, "seed of the random policy")
	f.StringVar(&o.token, "token", "", "bearer token for a server=ws://… policy")
	f.StringVar(&o.jsonOut, "json", "", "write the run's summary (episodes, commands, latency) as JSON to this file")
	f.BoolVar(&o.verbose, "verbose", false, "log every safety event")
	return cmd
}

// simTarget is a parsed --sim SUITE/TASK[/EPISODE].
type simTarget struct {
	task    *suite.Task
	episode int
}

func parseSim(s string) (simTarget, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return simTarget{}, fmt.Errorf("--sim %q: want SUITE/TASK[/EPISODE], e.g. libero_spatial/0", s)
	}
	st, err := suite.Get(parts[0])
	if err != nil {
		return simTarget{}, fmt.Errorf("--sim %q: %w", s, err)
	}
	ti, err := strconv.Atoi(parts[1])
	if err != nil || ti < 0 || ti >= len(st.Tasks) {
		return simTarget{}, fmt.Errorf("--sim %q: task must be a number in [0, %d)", s, len(st.Tasks))
	}
	t := simTarget{task: st.Tasks[ti]}
	if len(parts) == 3 {
		if t.episode, err = strconv.Atoi(parts[2]); err != nil || t.episode < 0 || t.episode >= suite.EpisodesPerTask {
			return simTarget{}, fmt.Errorf("--sim %q: episode must be a number in [0, %d)", s, suite.EpisodesPerTask)
		}
	}
	return t, nil
}

// parseCameras maps --camera values to the embodiment's cameras: NAME=SRC,
// or a bare SRC for the first camera not named otherwise.
func parseCameras(spec *embodiment.Spec, vals []string) (map[string]string, error) {
	out := map[string]string{}
	var bare []string
	for _, v := range vals {
		name, src, ok := strings.Cut(v, "=")
		if ok && slices.ContainsFunc(spec.Cameras, func(c embodiment.Camera) bool { return c.Name == name }) {
			if _, dup := out[name]; dup {
				return nil, fmt.Errorf("--camera: camera %q given twice", name)
			}
			if src == "" {
				return nil, fmt.Errorf("--camera %s: empty source", v)
			}
			out[name] = src
			continue
		}
		if ok && !strings.Contains(name, ":") && !strings.Contains(name, "/") && !strings.Contains(name, "?") {
			return nil, fmt.Errorf("--camera %s: embodiment %q has no camera %q (has %s)", v, spec.Name, name, cameraNames(spec))
		}
		bare = append(bare, v)
	}
	for _, src := range bare {
		i := slices.IndexFunc(spec.Cameras, func(c embodiment.Camera) bool { _, used := out[c.Name]; return !used })
		if i < 0 {
			return nil, fmt.Errorf("--camera %s: embodiment %q has no camera left for it (has %s)", src, spec.Name, cameraNames(spec))
		}
		out[spec.Cameras[i].Name] = src
	}
	return out, nil
}

func cameraNames(spec *embodiment.Spec) string {
	if len(spec.Cameras) == 0 {
		return "none"
	}
	var n []string
	for _, c := range spec.Cameras {
		n = append(n, c.Name)
	}
	return strings.Join(n, ", ")
}

func loadEmbodiment(s string) (*embodiment.Spec, error) {
	if slices.Contains(embodiment.Builtins(), s) {
		return embodiment.Builtin(s)
	}
	if _, err := os.Stat(s); err != nil {
		return nil, fmt.Errorf("--embodiment %q: neither a spec file nor a built-in (%s)", s, strings.Join(embodiment.Builtins(), ", "))
	}
	return embodiment.Load(s)
}

// checkRunFlags rejects contradictory flags before anything is opened.
func checkRunFlags(o runOptions) error {
	switch {
	case o.policy == "":
		return errors.New("--policy is required: expert (with --sim), random[=SEED], constant[=v1,…], server=ws://host:port or model=DIR")
	case o.ros1 != "" && o.ros2:
		return errors.New("--ros1 and --ros2 are exclusive")
	case o.sim != "" && (o.ros1 != "" || o.ros2 || len(o.cameras) > 0 || o.fake):
		return errors.New("--sim drives the simulator: --camera, --ros1, --ros2 and --fake do not apply")
	case o.fake && (o.ros1 != "" || o.ros2 || len(o.cameras) > 0):
		return errors.New("--fake replaces the hardware: --camera, --ros1 and --ros2 do not apply")
	case o.sim == "" && !o.fake && o.ros1 == "" && !o.ros2 && len(o.cameras) == 0:
		return errors.New("nothing to control: give --sim SUITE/TASK, --ros1 MASTER_URI, --ros2, --camera SRC or --fake")
	case o.policy == "expert" && o.sim == "":
		return errors.New("--policy expert needs --sim (it reads the simulator's privileged state)")
	case o.steps < 0:
		return fmt.Errorf("--steps must not be negative, got %d", o.steps)
	case o.rate < 0 || o.rate > 1000:
		return fmt.Errorf("--rate %v: want a rate in (0, 1000] Hz", o.rate)
	case o.ros2 && !ros2Available:
		return errNoROS2Flag()
	}
	if o.mqtt != "" {
		if err := mqtt.ValidateRobotID(o.robotID); err != nil {
			return fmt.Errorf("--robot-id: %w", err)
		}
	}
	return nil
}

func errNoROS2Flag() error {
	_, _, _, err := openROS2(nil, nil, nil)
	return err
}

// runSummary is what --json writes.
type runSummary struct {
	Embodiment string                    `json:"embodiment"`
	Policy     string                    `json:"policy"`
	DryRun     bool                      `json:"dry_run"`
	RateHz     float64                   `json:"rate_hz"`
	Episodes   []episodeSummary          `json:"episodes"`
	Commands   node.Record               `json:"commands"`
	Limits     [][2]float64              `json:"limits"`
	Latency    map[string]latencySummary `json:"latency_ms"`
	Safety     map[string]uint64         `json:"safety_events"`
}

type latencySummary struct {
	Count uint64  `json:"count"`
	P50ms float64 `json:"p50"`
	P99ms float64 `json:"p99"`
	MaxMs float64 `json:"max"`
}

type episodeSummary struct {
	Number      int    `json:"number"`
	Instruction string `json:"instruction"`
	Ended       string `json:"ended"`
	Result      string `json:"result"`
	Success     bool   `json:"success"`
	SimSteps    int    `json:"sim_steps,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Ticks       uint64 `json:"ticks"`
	Sent        uint64 `json:"sent"`
	DryRun      uint64 `json:"withheld"`
	Overruns    uint64 `json:"overruns"`
}

func runRobot(parent context.Context, stdout, stderr io.Writer, o runOptions) (err error) {
	// The logger writes from the MQTT and control goroutines while this
	// function prints progress: serialise all writes to stderr.
	stderr = &lockedWriter{w: stderr}
	if err := checkRunFlags(o); err != nil {
		return err
	}
	spec, err := loadEmbodiment(o.embodiment)
	if err != nil {
		return err
	}
	if o.rate > 0 {
		spec.ControlRate = o.rate
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stopSignals := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()

	var (
		sensor   control.Sensor
		actuator control.Actuator
		simEnv   *node.Sim
		target   simTarget
	)
	prompt := o.instruction
	switch {
	case o.sim != "":
		if target, err = parseSim(o.sim); err != nil {
			return err
		}
		env, err := newSimEnv(ctx, spec, target.task)
		if err != nil {
			return err
		}
		closers = append(closers, env.Close)
		simEnv = node.NewSim(target.task, env)
		sensor, actuator = simEnv, simEnv
		if prompt == "" {
			prompt = target.task.Instruction
		}
	case o.fake:
		sensor, actuator = node.NewFake(spec), node.Discard{}
	default:
		srcs, err := parseCameras(spec, o.cameras)
		if err != nil {
			return err
		}
		// The ROS side reads the state and the cameras not given locally.
		sensed := *spec
		sensed.Cameras = slices.DeleteFunc(slices.Clone(spec.Cameras), func(c embodiment.Camera) bool { _, local := srcs[c.Name]; return local })
		var rest control.Sensor
		switch {
		case o.ros1 != "":
			n, err := ros1.New(ros1.Config{MasterURI: o.ros1, Logger: log})
			if err != nil {
				return fmt.Errorf("--ros1 %s: %w", o.ros1, err)
			}
			closers = append(closers, n.Close)
			s, err := ros1.NewSensor(n, &sensed, ros1.SensorConfig{})
			if err != nil {
				return fmt.Errorf("--ros1: %w", err)
			}
			closers = append(closers, s.Close)
			a, err := ros1.NewActuator(n, spec, ros1.ActuatorConfig{Pose: s})
			if err != nil {
				return fmt.Errorf("--ros1: %w", err)
			}
			closers = append(closers, a.Close)
			rest, actuator = s, a
		case o.ros2:
			s, a, closeFn, err := openROS2(spec, &sensed, log)
			if err != nil {
				return fmt.Errorf("--ros2: %w", err)
			}
			closers = append(closers, closeFn)
			rest, actuator = s, a
		default:
			if len(sensed.Cameras) > 0 {
				return fmt.Errorf("embodiment %q needs cameras %s: give a --camera for each, or --ros1/--ros2 for the rest", spec.Name, cameraNames(&sensed))
			}
			if spec.StateDim() > 0 {
				return fmt.Errorf("embodiment %q has a %d-value state that cameras cannot supply: add --ros1 or --ros2", spec.Name, spec.StateDim())
			}
			if !o.dryRun {
				return errors.New("--dry-run=false needs something to send commands to: --ros1 or --ros2")
			}
			actuator = node.Discard{}
		}
		cs := &node.CameraSensor{Cameras: map[string]node.Frames{}, Rest: rest}
		for _, c := range spec.Cameras {
			src, ok := srcs[c.Name]
			if !ok {
				continue
			}
			cam, err := camera.New(camera.Config{Source: src, Width: c.Width, Height: c.Height, Loop: true})
			if err != nil {
				return fmt.Errorf("--camera %s=%s: %w", c.Name, src, err)
			}
			closers = append(closers, func() { _ = cam.Close() })
			if err := cam.Start(ctx); err != nil {
				return fmt.Errorf("--camera %s=%s: %w", c.Name, src, err)
			}
			cs.Cameras[c.Name] = cam
		}
		sensor = cs
		if len(cs.Cameras) == 0 {
			sensor = rest
		}
	}

	pol, err := buildRunPolicy(ctx, o, spec, simEnv, target)
	if err != nil {
		return err
	}
	if c, ok := pol.(io.Closer); ok {
		closers = append(closers, func() { c.Close() })
	}

	dry := o.dryRun
	filter, err := safety.New(spec, safety.Config{DryRun: &dry})
	if err != nil {
		return err
	}
	rec := &node.Recorder{Next: node.Guard{Filter: filter, Next: actuator}}
	lc := control.Config{Policy: pol, Sensor: sensor, Actuator: rec, Filter: filter, Prompt: prompt,
		Execute: o.execute, Steps: o.steps, Logger: log}
	cc := node.Config{Loop: lc, FirstEpisode: target.episode}
	if simEnv != nil {
		cc.Begin = func(n int) (<-chan struct{}, error) {
			if err := simEnv.Reset(n % suite.EpisodesPerTask); err != nil {
				return nil, err
			}
			return simEnv.Done(), nil
		}
	}
	ctrl, err := node.NewController(ctx, cc)
	if err != nil {
		return err
	}
	defer ctrl.Close()

	var client *mqtt.Client
	if o.mqtt != "" {
		client, err = mqtt.New(mqtt.Config{
			BrokerURL: o.mqtt, RobotID: o.robotID, Logger: log,
			Telemetry: func() mqtt.Telemetry { return ctrl.Telemetry(rec.Record().Last) },
			OnCommand: ctrl.Handle,
		})
		if err != nil {
			return fmt.Errorf("--mqtt: %w", err)
		}
		// The client outlives a signal, to report the controlled stop and
		// the episode's end; Close flushes what it can first.
		if err := client.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("--mqtt: %w", err)
		}
		defer func() {
			for deadline := time.Now().Add(2 * time.Second); client.Buffer().Queued > 0 && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			client.Close()
		}()
		mon := &node.Monitor{}
		monDone := make(chan struct{})
		monCtx, monStop := context.WithCancel(context.WithoutCancel(ctx))
		go func() {
			defer close(monDone)
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				for _, ev := range mon.Poll(filter.Stats()) {
					if err := client.PublishEvent(ev); err != nil {
						log.Warn("event not published", "err", err)
					}
				}
				select {
				case <-monCtx.Done():
					return
				case <-t.C:
				}
			}
		}()
		// Runs before client.Close (deferred later, so earlier).
		defer func() { monStop(); <-monDone }()
	}

	mode := "live"
	if dry {
		mode = "dry run: commands are computed and checked, never sent"
	}
	fmt.Fprintf(stderr, "vla run: %s at %g Hz, policy %s (%s)\n", spec.Name, spec.ControlRate, o.policy, mode)

	sum := runSummary{Embodiment: spec.Name, Policy: o.policy, DryRun: dry, RateHz: spec.ControlRate}
	for _, d := range spec.Dims {
		sum.Limits = append(sum.Limits, [2]float64{d.Min, d.Max})
	}
	var last control.Stats
	report := func(ep node.Episode) {
		last = ep.Stats
		es := episodeSummary{Number: ep.Number, Instruction: ep.Prompt, Ended: ep.Ended, Ticks: ep.Stats.Ticks,
			Sent: ep.Stats.Sent, DryRun: ep.Stats.DryRun, Overruns: ep.Stats.Overruns}
		switch {
		case simEnv != nil:
			r := simEnv.Result()
			es.Result, es.Success, es.SimSteps, es.Reason = r.Result(), r.Success, r.Steps, r.Reason
			line := fmt.Sprintf("episode %d of %s/%d %q: %s after %d steps", r.Episode, target.task.Suite, target.task.Index, ep.Prompt, es.Result, r.Steps)
			if r.Reason != "" {
				line += " (" + r.Reason + ")"
			}
			fmt.Fprintln(stdout, line)
		default:
			es.Result = "completed"
			if ep.Ended == node.EndStopped {
				es.Result = "stopped"
			}
			fmt.Fprintf(stdout, "episode %d %q: %s after %d ticks\n", ep.Number, ep.Prompt, es.Result, ep.Stats.Ticks)
		}
		if dry {
			fmt.Fprintf(stdout, "dry run: %d commands computed and withheld, none sent\n", ep.Stats.DryRun)
		}
		sum.Episodes = append(sum.Episodes, es)
		if client != nil {
			ev := mqtt.Event{Type: mqtt.EventEpisode, Kind: ep.Ended, Episode: ep.Number, Task: ep.Prompt, Result: es.Result,
				Message: fmt.Sprintf("%d ticks, %d commands sent, %d withheld", ep.Stats.Ticks, ep.Stats.Sent, ep.Stats.DryRun)}
			if es.Reason != "" {
				ev.Message = es.Reason + "; " + ev.Message
			}
			if err := client.PublishEvent(ev); err != nil {
				log.Warn("event not published", "err", err)
			}
		}
	}

	if err := ctrl.Start(prompt); err != nil {
		return err
	}
wait:
	for {
		select {
		case ep := <-ctrl.Episodes():
			report(ep)
			if client == nil {
				break wait
			}
		case <-ctx.Done():
			ctrl.Close() // the loop has already begun its controlled stop
			for {
				select {
				case ep := <-ctrl.Episodes():
					report(ep)
					continue
				default:
				}
				break
			}
			break wait
		}
	}
	if len(sum.Episodes) == 0 {
		last = ctrl.Stats()
	}
	sum.Commands = rec.Record()
	sum.Safety = map[string]uint64{}
	for k, n := range filter.Stats().Events {
		sum.Safety[k.String()] = n
	}
	sum.Latency = map[string]latencySummary{}
	for name, l := range last.Latency {
		sum.Latency[name] = latencySummary{Count: l.Count, P50ms: ms(l.P50), P99ms: ms(l.P99), MaxMs: ms(l.Max)}
	}
	writeLatencyTable(stdout, last, filter.Stats())
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(sum, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// writeLatencyTable prints p50/p99/max per stage and the counters.
func writeLatencyTable(w io.Writer, s control.Stats, fs safety.Stats) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tcount\tp50 ms\tp99 ms\tmax ms\t")
	for _, name := range []string{control.StageCapture, control.StagePreprocess, control.StageInference, control.StageSafety, control.StagePublish, control.StageTick} {
		l := s.Latency[name]
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t\n", name, l.Count, ms(l.P50), ms(l.P99), ms(l.Max))
	}
	_ = tw.Flush()
	var events []string
	for k, n := range fs.Events {
		events = append(events, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(events)
	fmt.Fprintf(w, "ticks %d (overruns %d, starved %d), chunks %d, commands sent %d, withheld %d; errors: capture %d, policy %d, send %d\n",
		s.Ticks, s.Overruns, s.Starved, s.Chunks, s.Sent, s.DryRun, s.CaptureErrors, s.PolicyErrors, s.SendErrors)
	if len(events) > 0 {
		fmt.Fprintf(w, "safety events: %s\n", strings.Join(events, " "))
	}
}

// newSimEnv builds the task's simulator, rendering the embodiment's
// cameras (which must be the simulator's, at one size).
func newSimEnv(ctx context.Context, spec *embodiment.Spec, task *suite.Task) (*sim.Env, error) {
	cfg := sim.Config{NoRender: len(spec.Cameras) == 0}
	for _, c := range spec.Cameras {
		if c.Name != sim.AgentView && c.Name != sim.Wrist {
			return nil, fmt.Errorf("--sim: embodiment %q reads camera %q; the simulator renders %s and %s", spec.Name, c.Name, sim.AgentView, sim.Wrist)
		}
		if c.Width != c.Height || (cfg.Width != 0 && c.Width != cfg.Width) {
			return nil, fmt.Errorf("--sim: embodiment %q's cameras must share one square size", spec.Name)
		}
		cfg.Width, cfg.Height = c.Width, c.Height
	}
	env, err := task.NewEnv(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("--sim: %w", err)
	}
	if env.ActionDim() != spec.ActionDim() {
		env.Close()
		return nil, fmt.Errorf("--sim: the simulator takes %d-D actions, embodiment %q has %d", env.ActionDim(), spec.Name, spec.ActionDim())
	}
	return env, nil
}

// buildRunPolicy builds --policy for the embodiment: the scripted expert
// (on the simulator, under its lock) or a registry policy.
func buildRunPolicy(ctx context.Context, o runOptions, spec *embodiment.Spec, s *node.Sim, target simTarget) (policy.Policy, error) {
	if o.policy == "expert" {
		return s.Locked(suite.NewExpert(target.task, s.Env())), nil
	}
	reg := policyRegistry(o.token)
	kind, _, _ := strings.Cut(o.policy, "=")
	if !slices.Contains(reg.Kinds(), kind) {
		return nil, fmt.Errorf("unknown policy %q (known: expert, %s)", kind, strings.Join(reg.Kinds(), ", "))
	}
	p, err := reg.Build(ctx, o.policy, policy.BuildOptions{ActionDim: spec.ActionDim(), Horizon: o.horizon, Seed: o.seed})
	if err != nil {
		return nil, fmt.Errorf("--policy %s: %w", o.policy, err)
	}
	return p, nil
}

// lockedWriter serialises writes to w, for writers (such as a bytes.Buffer
// or a terminal shared with a logger) written from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write implements io.Writer.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
