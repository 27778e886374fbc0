package client

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Codes for failures that carry no AWS error code.
const (
	CodeTimeout  = "Timeout"
	CodeNetwork  = "NetworkError"
	CodeCanceled = "Canceled"
	CodeOther    = "OtherError"
)

// throttleCodes are the Kinesis answers that mean "slow down". Kinesis also
// uses LimitExceededException for the account's shard limit, but only the
// control plane returns it for that.
var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"LimitExceededException":                 true,
	"ThrottlingException":                    true,
	"KMSThrottlingException":                 true,
	"RequestLimitExceeded":                   true,
	"SlowDown":                               true,
	"TooManyRequestsException":               true,
}

// transientCodes are server-side failures worth retrying.
var transientCodes = map[string]bool{
	"InternalFailure":          true,
	"InternalFailureException": true,
	"InternalServerError":      true,
	"ServiceUnavailable":       true,
	"RequestTimeout":           true,
	"RequestTimeoutException":  true,
	CodeTimeout:                true,
	CodeNetwork:                true,
}

// ErrorCode names err for counting: the AWS error code when the server sent
// one, "HTTP <status>" for an error response without one, else one of the
// Code constants.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.Canceled) {
		return CodeCanceled
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() != "" {
		return ae.ErrorCode()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		return "HTTP " + strconv.Itoa(re.HTTPStatusCode())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return CodeTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return CodeTimeout
		}
		return CodeNetwork
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return CodeNetwork
	}
	return CodeOther
}

// IsThrottleCode reports whether an error code means "slow down".
func IsThrottleCode(code string) bool { return throttleCodes[code] }

// IsRetryableCode reports whether a call that failed with code may succeed
// when tried again: throttling, server faults and network trouble.
func IsRetryableCode(code string) bool {
	if throttleCodes[code] || transientCodes[code] {
		return true
	}
	// "HTTP 5xx" from ErrorCode.
	return len(code) == 8 && code[:6] == "HTTP 5"
}
