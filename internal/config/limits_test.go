package config

import (
	"errors"
	"io"
	"testing"
	"time"
)

// TestLimitsDefaults: the defaults are limits an editing user never meets,
// and 0 switches each off.
func TestLimitsDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(map[string]string{}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{UploadsPerMinute: 30, UploadBytesPerHour: 2 << 30, SessionUploadsPerMinute: 10,
		SessionUploadBytesPerHour: 512 << 20, StoreHighWater: 0.85, StoreSampleEvery: time.Second}
	if c.Limits != want {
		t.Errorf("defaults %+v, want %+v", c.Limits, want)
	}
	c, err = Load([]string{"--uploads-per-minute", "0", "--upload-bytes-per-hour", "0"}, env(map[string]string{"EASEL_SESSION_UPLOADS_PER_MINUTE": "0", "EASEL_SESSION_UPLOAD_BYTES_PER_HOUR": "0"}), io.Discard)
	if err != nil || c.Limits.UploadsPerMinute != 0 || c.Limits.UploadBytesPerHour != 0 || c.Limits.SessionUploadsPerMinute != 0 || c.Limits.SessionUploadBytesPerHour != 0 {
		t.Errorf("all limits 0: %+v, %v", c, err)
	}
}

func TestLimitsRejected(t *testing.T) {
	t.Parallel()
	for setting, value := range map[string]string{
		"EASEL_UPLOADS_PER_MINUTE":    "-1",
		"EASEL_UPLOAD_BYTES_PER_HOUR": "1MiB", // below the 25MiB largest upload: nothing could ever be uploaded
		"EASEL_STORE_HIGH_WATER":      "1.5",
		"EASEL_STORE_SAMPLE_INTERVAL": "1ms",
	} {
		_, err := Load(nil, env(map[string]string{setting: value}), io.Discard)
		var ce *Error
		if !errors.As(err, &ce) || EnvName(ce.Setting) != setting {
			t.Errorf("%s=%s: %v, want an error naming it", setting, value, err)
		}
	}
}
