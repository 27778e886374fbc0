// Package cloudwatch serves the read side of the CloudWatch API
// (GetMetricStatistics, GetMetricData, ListMetrics) over the datapoints
// internal/metrics keeps in the store, in the three protocols AWS's
// clients use: awsQuery, awsJson1_0 and Smithy RPC v2 CBOR.
package cloudwatch

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/rivulet/rivulet/internal/auth/sigv4"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store"
)

// Config tunes the service.
type Config struct {
	Now    func() time.Time
	Logger *slog.Logger
	// Authorizer decides every request with actions "cloudwatch:<Op>" on
	// "*"; nil allows all.
	Authorizer kinesis.Authorizer
}

// Service answers the operations.
type Service struct {
	st  store.Metrics
	cfg Config
	// listPageSize is ListMetrics's page; 0 means AWS's 500.
	listPageSize int
}

// New returns the service over st.
func New(st store.Metrics, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{st: st, cfg: cfg}
}

// HandlerOptions configures a Handler.
type HandlerOptions struct {
	Logger *slog.Logger
	// Verifier checks SigV4 signatures for service "monitoring"; nil
	// accepts any complete signature and takes the caller from its
	// credential scope.
	Verifier *sigv4.Verifier
}

// IsRequest reports whether r is a CloudWatch request in any of the
// three protocols: X-Amz-Target "GraniteServiceVersion20100801.<Op>",
// a POST to /service/GraniteServiceVersion20100801/operation/<Op>, or a
// form-encoded POST (awsQuery; no other API on the port uses forms).
func IsRequest(r *http.Request) bool { return isRequest(r) }

// NewHandler returns the HTTP handler for svc.
func NewHandler(svc *Service, opts HandlerOptions) http.Handler { return newHandler(svc, opts) }
