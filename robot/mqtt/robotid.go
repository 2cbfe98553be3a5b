package mqtt

import "fmt"

// ValidateRobotID checks that id can be used as a topic level: 1 to 64
// letters, digits, '-', '_' or '.', so no MQTT wildcard, slash or control
// character.
func ValidateRobotID(id string) error {
	if id == "" {
		return fmt.Errorf("robot id is empty")
	}
	if len(id) > 64 {
		return fmt.Errorf("robot id is %d bytes long, more than 64", len(id))
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("robot id %q: character %q is not allowed (want letters, digits, '-', '_' or '.')", id, r)
		}
	}
	return nil
}
