package dataset

import (
	"encoding/json"
	"testing"
)

func FuzzParseInfo(f *testing.F) {
	data, _ := json.Marshal(goodInfo())
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParseInfo(data)
		if err != nil {
			return
		}
		if _, err := expandPath(info.DataPath, "", 1, 2); err != nil {
			t.Fatalf("validated data_path does not expand: %v", err)
		}
		for _, cam := range info.cameras() {
			if info.Features[cam].DType == "video" {
				if _, err := expandPath(*info.VideoPath, cam, 3, 4); err != nil {
					t.Fatalf("validated video_path does not expand: %v", err)
				}
			}
		}
	})
}
