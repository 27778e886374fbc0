package config

import (
	"strings"
	"testing"
)

func TestAuthSettings(t *testing.T) {
	conf := writeFile(t, "addr = 0.0.0.0:4567\nauth = none\n")
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		auth      string
		exposeErr bool
	}{
		{"default", nil, nil, "", false},
		{"default exposed", []string{"--addr", "0.0.0.0:4567"}, nil, "", true},
		{"ipv6 any", []string{"--addr", "[::]:4567"}, nil, "", true},
		{"ipv6 loopback", []string{"--addr", "[::1]:4567"}, nil, "", false},
		{"localhost", []string{"--addr", "localhost:4567"}, nil, "", false},
		{"other loopback", []string{"--addr", "127.0.0.2:4567"}, nil, "", false},
		{"hostname", []string{"--addr", "rivulet.internal:4567"}, nil, "", true},
		{"explicit none", []string{"--addr", "0.0.0.0:4567", "--auth", "none"}, nil, AuthNone, false},
		{"explicit none by env", []string{"--addr", "0.0.0.0:4567"}, map[string]string{"RIVULET_AUTH": "none"}, AuthNone, false},
		{"explicit none by file", []string{"--config", conf}, nil, AuthNone, false},
		{"sigv4", []string{"--addr", "0.0.0.0:4567", "--auth=sigv4", "--credentials", "c.json"}, nil, AuthSigV4, false},
		{"sigv4 by env", []string{"--addr", "0.0.0.0:4567"}, map[string]string{"RIVULET_AUTH": "sigv4", "RIVULET_CREDENTIALS": "c.json"}, AuthSigV4, false},
	} {
		c, err := Load(tc.args, envMap(tc.env))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.Auth != tc.auth {
			t.Errorf("%s: auth %q, want %q", tc.name, c.Auth, tc.auth)
		}
		if err := c.CheckExposure(); (err != nil) != tc.exposeErr {
			t.Errorf("%s: CheckExposure: %v", tc.name, err)
		}
	}

	var usage strings.Builder
	Usage(&usage)
	for _, want := range []string{"--auth VALUE", "RIVULET_AUTH, default none", "--credentials VALUE", "RIVULET_CREDENTIALS"} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}
