package natsstore

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rivulet/rivulet/internal/netaddr"
)

// ServerAuth is what the embedded server's listener (Config.ListenAddr)
// requires of clients. This Store's own in-process connection presents
// User and Password or Token too; it needs no certificate.
type ServerAuth struct {
	// User and Password, or Token: at most one of the two.
	User, Password string
	Token          string
	// TLSCertFile and TLSKeyFile (PEM) make the listener TLS only.
	TLSCertFile, TLSKeyFile string
	// TLSCAFile (PEM) makes clients present a certificate it signed;
	// it needs TLSCertFile.
	TLSCAFile string
	// AllowAnonymous lets a non-loopback ListenAddr have no
	// authentication at all.
	AllowAnonymous bool
}

// authenticates reports whether clients must prove who they are.
func (a ServerAuth) authenticates() bool {
	return a.User != "" || a.Token != "" || a.TLSCAFile != ""
}

func (a ServerAuth) check(listen string) error {
	switch {
	case a.User != "" && a.Token != "":
		return errors.New("natsstore: listener: give a user and password or a token, not both")
	case (a.User == "") != (a.Password == ""):
		return errors.New("natsstore: listener: a user needs a password, and a password a user")
	case (a.TLSCertFile == "") != (a.TLSKeyFile == ""):
		return errors.New("natsstore: listener: the TLS certificate and key go together")
	case a.TLSCAFile != "" && a.TLSCertFile == "":
		return errors.New("natsstore: listener: client certificates (a CA) need TLS (a certificate and key)")
	case !a.authenticates() && !a.AllowAnonymous && !netaddr.IsLoopback(listen):
		return fmt.Errorf("natsstore: refusing to serve NATS on %s without authentication: "+
			"whoever reaches it could read, change and delete every stream; "+
			"require a user and password, a token or client certificates, or allow anonymous clients explicitly", listen)
	}
	return nil
}

// apply sets the server options that carry the authentication.
func (a ServerAuth) apply(opts *server.Options) error {
	opts.Username, opts.Password = a.User, a.Password
	opts.Authorization = a.Token
	if a.TLSCertFile == "" {
		return nil
	}
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
		CertFile: a.TLSCertFile,
		KeyFile:  a.TLSKeyFile,
		CaFile:   a.TLSCAFile,
		Verify:   a.TLSCAFile != "",
	})
	if err != nil {
		return fmt.Errorf("natsstore: listener TLS: %w", err)
	}
	opts.TLS = true
	opts.TLSConfig = tc
	opts.TLSVerify = a.TLSCAFile != ""
	return nil
}

// inProcess is what this Store presents over its in-process connection.
func (a ServerAuth) inProcess() []nats.Option {
	switch {
	case a.User != "":
		return []nats.Option{nats.UserInfo(a.User, a.Password)}
	case a.Token != "":
		return []nats.Option{nats.Token(a.Token)}
	}
	return nil
}

// ClientAuth is what a Store presents to an external NATS (Config.URL) or
// to an embedded one it attaches to (Config.Server).
type ClientAuth struct {
	// CredsFile is a NATS credentials file (a user JWT and NKey seed).
	CredsFile string
	// User and Password, or Token.
	User, Password string
	Token          string
	// TLSCAFile (PEM) is trusted for the server's certificate, besides
	// the system's roots.
	TLSCAFile string
	// TLSCertFile and TLSKeyFile (PEM) are a client certificate, for a
	// server that requires one.
	TLSCertFile, TLSKeyFile string
}

func (a ClientAuth) given() bool { return a != ClientAuth{} }

func (a ClientAuth) options() ([]nats.Option, error) {
	n := 0
	for _, set := range []bool{a.CredsFile != "", a.User != "", a.Token != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, errors.New("natsstore: give one of a credentials file, a user and password, or a token")
	case (a.User == "") != (a.Password == ""):
		return nil, errors.New("natsstore: a user needs a password, and a password a user")
	case (a.TLSCertFile == "") != (a.TLSKeyFile == ""):
		return nil, errors.New("natsstore: the client certificate and key go together")
	}
	var opts []nats.Option
	switch {
	case a.CredsFile != "":
		opts = append(opts, nats.UserCredentials(a.CredsFile))
	case a.User != "":
		opts = append(opts, nats.UserInfo(a.User, a.Password))
	case a.Token != "":
		opts = append(opts, nats.Token(a.Token))
	}
	if a.TLSCAFile != "" {
		opts = append(opts, nats.RootCAs(a.TLSCAFile))
	}
	if a.TLSCertFile != "" {
		opts = append(opts, nats.ClientCert(a.TLSCertFile, a.TLSKeyFile))
	}
	return opts, nil
}

// connectError says what to do about a refused connection.
func connectError(err error, auth ClientAuth) error {
	switch {
	case errors.Is(err, nats.ErrAuthorization) && !auth.given():
		return fmt.Errorf("natsstore: connect: %w: this NATS requires authentication and none was given", err)
	case errors.Is(err, nats.ErrAuthorization):
		return fmt.Errorf("natsstore: connect: %w: the credentials were refused", err)
	case errors.Is(err, nats.ErrSecureConnRequired):
		return fmt.Errorf("natsstore: connect: %w: this NATS requires TLS; trust its certificate's CA", err)
	}
	return fmt.Errorf("natsstore: connect: %w", err)
}
