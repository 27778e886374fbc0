package config

import (
	"strings"
	"testing"
)

func TestAdminAddr(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "127.0.0.1:4568"},
		{[]string{"--admin-addr", "off"}, nil, AdminOff},
		{[]string{"--admin-addr=127.0.0.1:0"}, nil, "127.0.0.1:0"},
		{nil, map[string]string{"RIVULET_ADMIN_ADDR": "10.0.0.5:9000"}, "10.0.0.5:9000"},
		{[]string{"--addr", "127.0.0.1:4568", "--admin-addr", "127.0.0.1:4569"}, nil, "127.0.0.1:4569"},
		{[]string{"--addr", "0.0.0.0:4567", "--tls-port", "4568"}, nil, "127.0.0.1:4568"}, // other host
	} {
		c, err := Load(tc.args, envMap(tc.env))
		if err != nil || c.AdminAddr != tc.want {
			t.Errorf("%v %v: %q, %v; want %q", tc.args, tc.env, c.AdminAddr, err, tc.want)
		}
	}
}

func TestNATSAuth(t *testing.T) {
	ok := []struct {
		args  []string
		env   map[string]string
		check func(*Config) bool
	}{
		{[]string{"--nats-listen", "0.0.0.0:4222", "--nats-user", "u", "--nats-password", "p"}, nil,
			func(c *Config) bool { return c.NATSUser == "u" && c.NATSPassword == "p" }},
		{[]string{"--nats-listen", "0.0.0.0:4222", "--nats-user", "u"}, map[string]string{"RIVULET_NATS_PASSWORD": "p"},
			func(c *Config) bool { return c.NATSPassword == "p" }},
		{[]string{"--nats-listen", "10.0.0.5:4222"}, map[string]string{"RIVULET_NATS_TOKEN": "t"},
			func(c *Config) bool { return c.NATSToken == "t" }},
		{[]string{"--nats-listen", ":4222", "--nats-tls-cert", "c", "--nats-tls-key", "k", "--nats-tls-ca", "ca"}, nil,
			func(c *Config) bool { return c.NATSTLSCA == "ca" }},
		{[]string{"--nats-listen", "0.0.0.0:4222", "--nats-allow-anonymous"}, nil,
			func(c *Config) bool { return c.NATSAllowAnonymous }},
		{[]string{"--nats-listen", "127.0.0.1:4222"}, nil, func(c *Config) bool { return true }},
		{[]string{"--nats-listen", "localhost:4222", "--nats-tls-cert", "c", "--nats-tls-key", "k"}, nil, func(c *Config) bool { return true }},
		{[]string{"--nats-url", "nats://n:4222", "--nats-creds", "x.creds", "--nats-tls-ca", "ca"}, nil,
			func(c *Config) bool { return c.NATSCreds == "x.creds" && c.NATSTLSCA == "ca" }},
		{[]string{"--nats-url", "tls://n:4222", "--nats-tls-ca", "ca", "--nats-tls-cert", "c", "--nats-tls-key", "k"}, nil,
			func(c *Config) bool { return c.NATSTLSCert == "c" }},
	}
	for _, tc := range ok {
		c, err := Load(tc.args, envMap(tc.env))
		if err != nil || !tc.check(c) {
			t.Errorf("%v %v: %v", tc.args, tc.env, err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nats-listen", "0.0.0.0:4222"}, "--nats-listen 0.0.0.0:4222 is not a loopback address, and without authentication"},
		{[]string{"--nats-listen", ":4222"}, "--nats-allow-anonymous to allow it anyway"},
		{[]string{"--nats-listen", "nats.internal:4222"}, "not a loopback address"},
		{[]string{"--nats-listen", "10.0.0.5:4222", "--nats-tls-cert", "c", "--nats-tls-key", "k"}, "not a loopback address"},
		{[]string{"--nats-user", "u", "--nats-password", "p"}, "apply to --nats-listen or --nats-url"},
		{[]string{"--nats-allow-anonymous"}, "--nats-allow-anonymous applies to --nats-listen"},
		{[]string{"--nats-listen", "127.0.0.1:4222", "--nats-creds", "x.creds"}, "--nats-creds applies to --nats-url"},
		{[]string{"--nats-url", "nats://n:4222", "--nats-user", "u"}, "--nats-user and --nats-password must be given together"},
		{[]string{"--nats-url", "nats://n:4222", "--nats-token", "t", "--nats-creds", "x"}, "give one of"},
		{[]string{"--nats-listen", "127.0.0.1:4222", "--nats-user", "u", "--nats-password", "p", "--nats-token", "t"}, "give one of"},
		{[]string{"--nats-url", "nats://n:4222", "--nats-tls-key", "k"}, "--nats-tls-cert and --nats-tls-key must be given together"},
		{[]string{"--nats-listen", "127.0.0.1:4222", "--nats-tls-ca", "ca"}, "needs --nats-tls-cert"},
		{[]string{"--admin-addr", "4568"}, "invalid --admin-addr"},
		{[]string{"--admin-addr", "127.0.0.1:4567"}, "--admin-addr 127.0.0.1:4567 is an address of the API"},
		{[]string{"--tls-port", "4568"}, "--admin-addr 127.0.0.1:4568 is an address of the API"},
	} {
		_, err := Load(tc.args, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}
