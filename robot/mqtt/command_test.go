package mqtt_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/robot/mqtt"
)

var casesCommand = []struct {
	name string
	in   string
	cmd  mqtt.Command
	err  string
}{
	{"estop", `{"cmd":"estop"}`, mqtt.Command{Cmd: "estop"}, ""},
	{"reset", `{"cmd":"reset"}`, mqtt.Command{Cmd: "reset"}, ""},
	{"stop", ` {"cmd":"stop"} ` + "\n", mqtt.Command{Cmd: "stop"}, ""},
	{"start", `{"cmd":"start","instruction":"pick up the red block"}`, mqtt.Command{Cmd: "start", Instruction: "pick up the red block"}, ""},
	{"start trimmed", `{"cmd":"start","instruction":"\tstack the cups\n"}`, mqtt.Command{Cmd: "start", Instruction: "stack the cups"}, ""},
	{"unknown", `{"cmd":"jump"}`, mqtt.Command{}, `unknown command "jump" (want estop, reset, start or stop)`},
	{"case", `{"cmd":"STOP"}`, mqtt.Command{}, `unknown command "STOP" (want estop, reset, start or stop)`},
	{"no cmd", `{}`, mqtt.Command{}, `command has no "cmd" field`},
	{"null", `null`, mqtt.Command{}, `command has no "cmd" field`},
	{"empty", ``, mqtt.Command{}, `command is not a JSON object like {"cmd":"stop"}: EOF`},
	{"truncated", `{"cmd":"st`, mqtt.Command{}, `command is not a JSON object like {"cmd":"stop"}: unexpected EOF`},
	{"array", `["stop"]`, mqtt.Command{}, `command is not a JSON object like {"cmd":"stop"}: json: cannot unmarshal array into Go value of type mqtt.Command`},
	{"wrong type", `{"cmd":1}`, mqtt.Command{}, `command is not a JSON object like {"cmd":"stop"}: json: cannot unmarshal number into Go struct field Command.cmd of type string`},
	{"unknown field", `{"cmd":"stop","speed":3}`, mqtt.Command{}, `command is not a JSON object like {"cmd":"stop"}: json: unknown field "speed"`},
	{"trailing", `{"cmd":"stop"}{"cmd":"start"}`, mqtt.Command{}, `command has data after the JSON object`},
	{"no instruction", `{"cmd":"start"}`, mqtt.Command{}, `command "start" needs a non-empty "instruction"`},
	{"blank instruction", `{"cmd":"start","instruction":"  "}`, mqtt.Command{}, `command "start" needs a non-empty "instruction"`},
	{"stray instruction", `{"cmd":"stop","instruction":"x"}`, mqtt.Command{}, `command "stop" takes no "instruction"`},
	{"bad utf8", "{\"cmd\":\"stop\xff\"}", mqtt.Command{}, `command is not valid UTF-8`},
	{"oversize", `{"cmd":"start","instruction":"` + strings.Repeat("a", mqtt.MaxCommandBytes) + `"}`, mqtt.Command{}, `command is 4128 bytes, more than the 4096 allowed`},
}

func TestParseCommand(t *testing.T) {
	for _, ca := range casesCommand {
		t.Run(ca.name, func(t *testing.T) {
			cmd, err := mqtt.ParseCommand([]byte(ca.in))
			if ca.err != "" {
				require.EqualError(t, err, ca.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, ca.cmd, cmd)
		})
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, ca := range casesCommand {
		f.Add([]byte(ca.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := mqtt.ParseCommand(b)
		if err != nil {
			return
		}
		enc, err := json.Marshal(cmd)
		require.NoError(t, err)
		again, err := mqtt.ParseCommand(enc)
		require.NoError(t, err)
		require.Equal(t, cmd, again)
	})
}
