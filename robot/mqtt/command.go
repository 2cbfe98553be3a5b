package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// The commands accepted on vla/<robot-id>/cmd.
const (
	// CmdEStop latches the emergency stop.
	CmdEStop = "estop"
	// CmdReset releases the emergency stop.
	CmdReset = "reset"
	// CmdStart starts an episode with Command.Instruction.
	CmdStart = "start"
	// CmdStop ends the episode with a controlled stop.
	CmdStop = "stop"
)

// MaxCommandBytes is the largest command payload accepted.
const MaxCommandBytes = 4096

// Command is a validated command received on vla/<robot-id>/cmd, sent as
// JSON such as {"cmd":"start","instruction":"pick up the red block"}.
type Command struct {
	// Cmd is one of CmdEStop, CmdReset, CmdStart, CmdStop.
	Cmd string `json:"cmd"`
	// Instruction is the task for CmdStart; it is empty for the others.
	Instruction string `json:"instruction,omitempty"`
}

// ParseCommand decodes and validates a command payload.
func ParseCommand(b []byte) (Command, error) {
	if len(b) > MaxCommandBytes {
		return Command{}, fmt.Errorf("command is %d bytes, more than the %d allowed", len(b), MaxCommandBytes)
	}
	if !utf8.Valid(b) {
		return Command{}, errors.New("command is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Command
	if err := dec.Decode(&c); err != nil {
		return Command{}, fmt.Errorf("command is not a JSON object like {\"cmd\":\"stop\"}: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Command{}, errors.New("command has data after the JSON object")
	}
	switch c.Cmd {
	case CmdStart:
		c.Instruction = strings.TrimSpace(c.Instruction)
		if c.Instruction == "" {
			return Command{}, errors.New("command \"start\" needs a non-empty \"instruction\"")
		}
	case CmdEStop, CmdReset, CmdStop:
		if c.Instruction != "" {
			return Command{}, fmt.Errorf("command %q takes no \"instruction\"", c.Cmd)
		}
	case "":
		return Command{}, errors.New("command has no \"cmd\" field")
	default:
		return Command{}, fmt.Errorf("unknown command %q (want estop, reset, start or stop)", c.Cmd)
	}
	return c, nil
}
