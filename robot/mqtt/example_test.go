package mqtt_test

import (
	"context"
	"log"
	"time"

	"github.com/vstgo/vst/robot/mqtt"
)

// A controller publishes its loop's statistics every 500 ms, reports
// safety events and obeys the fleet's commands.
func Example() {
	c, err := mqtt.New(mqtt.Config{
		BrokerURL: "tcp://broker.local:1883",
		RobotID:   "panda-01",
		BufferDir: "/var/lib/vst/mqtt",
		Telemetry: func() mqtt.Telemetry {
			// Fill this from the control loop's Stats().
			return mqtt.Telemetry{
				Mode:     "running",
				LoopRate: 20,
				Latency:  mqtt.Stages{Inference: mqtt.LatencyOf(80*time.Millisecond, 95*time.Millisecond)},
			}
		},
		OnCommand: func(_ context.Context, cmd mqtt.Command) error {
			log.Printf("command %s %q", cmd.Cmd, cmd.Instruction)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// Buffered on disk until the broker acknowledges it.
	if err := c.PublishEvent(mqtt.Event{Type: mqtt.EventSafety, Kind: "estop", Message: "operator"}); err != nil {
		log.Print(err)
	}
}
