package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/rivulet/rivulet/internal/config"
	"github.com/rivulet/rivulet/internal/store/natsstore"
)

// natsClientFlags are the flags with which backup, restore, check and
// recover authenticate to the NATS of --nats-url: the same names and
// meanings as rivulet serve --nats-url.
type natsClientFlags struct {
	creds, user, password, token string
	tlsCA, tlsCert, tlsKey       string
	fs                           *flag.FlagSet
}

func addNATSClientFlags(fs *flag.FlagSet) *natsClientFlags {
	f := &natsClientFlags{fs: fs}
	fs.StringVar(&f.creds, "nats-creds", "", "with --nats-url, authenticate with this NATS credentials `FILE` (env RIVULET_NATS_CREDS)")
	fs.StringVar(&f.user, "nats-user", "", "with --nats-url, authenticate as this `USER` (env RIVULET_NATS_USER; needs --nats-password)")
	fs.StringVar(&f.password, "nats-password", "", "the `PASSWORD` of --nats-user (better set as RIVULET_NATS_PASSWORD: flags are visible in the process list)")
	fs.StringVar(&f.token, "nats-token", "", "with --nats-url, authenticate with this `TOKEN` (better set as RIVULET_NATS_TOKEN)")
	fs.StringVar(&f.tlsCA, "nats-tls-ca", "", "trust the NATS server's certificate if this PEM `FILE`'s CA signed it")
	fs.StringVar(&f.tlsCert, "nats-tls-cert", "", "PEM client certificate `FILE`, for a NATS that requires one (needs --nats-tls-key)")
	fs.StringVar(&f.tlsKey, "nats-tls-key", "", "PEM private key `FILE` for --nats-tls-cert")
	return f
}

// auth returns what to present to url. The secrets and the credentials
// file may come from the environment, as for rivulet serve, so that they
// stay out of the process list; certificates only from flags, since
// serve's RIVULET_NATS_TLS_CERT may be a server's.
func (f *natsClientFlags) auth(e *env, url string) (natsstore.ClientAuth, error) {
	given := false
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "nats-creds", "nats-user", "nats-password", "nats-token", "nats-tls-ca", "nats-tls-cert", "nats-tls-key":
			given = true
		}
	})
	if url == "" {
		if given {
			return natsstore.ClientAuth{}, errors.New("--nats-creds, --nats-user, --nats-password, --nats-token and --nats-tls-* need --nats-url")
		}
		return natsstore.ClientAuth{}, nil
	}
	for _, v := range []struct {
		name string
		p    *string
	}{{"nats-creds", &f.creds}, {"nats-user", &f.user}, {"nats-password", &f.password}, {"nats-token", &f.token}} {
		if *v.p == "" && e.lookupEnv != nil {
			if s, ok := e.lookupEnv(config.EnvName(v.name)); ok {
				*v.p = s
			}
		}
	}
	n := 0
	for _, s := range []string{f.creds, f.user, f.token} {
		if s != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return natsstore.ClientAuth{}, errors.New("give one of --nats-creds, --nats-user/--nats-password and --nats-token")
	case (f.user == "") != (f.password == ""):
		return natsstore.ClientAuth{}, errors.New("--nats-user and --nats-password must be given together")
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return natsstore.ClientAuth{}, errors.New("--nats-tls-cert and --nats-tls-key must be given together")
	}
	return natsstore.ClientAuth{
		CredsFile: f.creds, User: f.user, Password: f.password, Token: f.token,
		TLSCAFile: f.tlsCA, TLSCertFile: f.tlsCert, TLSKeyFile: f.tlsKey,
	}, nil
}

// natsHint names the flags that fix a refused NATS connection.
func natsHint(err error) error {
	var unknownCA x509.UnknownAuthorityError
	switch {
	case errors.Is(err, nats.ErrAuthorization):
		return fmt.Errorf("%w (authenticate with --nats-user and --nats-password, --nats-token or --nats-creds)", err)
	case errors.Is(err, nats.ErrSecureConnRequired), errors.As(err, &unknownCA):
		return fmt.Errorf("%w (give the CA of the NATS server's certificate with --nats-tls-ca)", err)
	}
	return err
}
