package kinesis

import (
	"context"

	"github.com/rivulet/rivulet/internal/auth"
)

// Operation is one Kinesis action as the wire adapter sees it: it makes an
// empty input to decode into, then calls the typed handler.
type Operation struct {
	Name     string
	NewInput func() any
	Call     func(ctx context.Context, in any) (any, error)
	// Streaming marks an operation answered by an event stream written
	// over time, which the transport must flush as it goes.
	Streaming bool
}

// Op adapts a typed handler func(ctx, *In) (*Out, error) to an Operation.
func Op[I, O any](name string, f func(context.Context, *I) (*O, error)) Operation {
	return Operation{
		Name:     name,
		NewInput: func() any { return new(I) },
		Call: func(ctx context.Context, in any) (any, error) {
			out, err := f(ctx, in.(*I))
			if err != nil {
				return nil, err
			}
			return out, nil
		},
	}
}

// streaming marks o as answered by an event stream.
func streaming(o Operation) Operation {
	o.Streaming = true
	return o
}

// Caller is who a request acts for: the account and region namespace that
// streams live in, and, with signatures verified, the principal and where
// the request came from (for policy conditions).
type Caller struct {
	Account string
	Region  string
	// Principal is the verified access key's; nil when signatures are not
	// checked (auth none).
	Principal *auth.Principal
	// SourceIP is the client's address without the port, and
	// SecureTransport whether it came over TLS. Both are set when
	// signatures are checked; with auth none nothing reads them.
	SourceIP        string
	SecureTransport bool
	// Service marks Rivulet's own calls: the delivery engine reading a
	// Kinesis source in-process, as AWS's Firehose does with its role.
	// Policies do not restrict them.
	Service bool
}

// DefaultCaller is used when a request carries no credential scope.
var DefaultCaller = Caller{Account: "000000000000", Region: "us-east-1"}

type callerKey struct{}

// WithCaller attaches the caller to ctx.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller in ctx, or DefaultCaller.
func CallerFrom(ctx context.Context) Caller {
	if c, ok := ctx.Value(callerKey{}).(Caller); ok {
		return c
	}
	return DefaultCaller
}
