package firehose

import (
	"time"

	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/metrics"
)

// observe counts one PutRecord or PutRecordBatch call under AWS/Firehose:
// op is "PutRecord" or "PutRecordBatch"; records and bytes are what was
// stored (0 when the call failed).
func (s *Service) observe(ds *model.DeliveryStream, op string, start time.Time, records, bytes, throttled int) {
	r := s.cfg.Metrics
	if r == nil {
		return
	}
	ser := metrics.Series{Namespace: metrics.Firehose, Account: ds.Account, Region: ds.Region, Stream: ds.Name}
	at := func(name string, v float64) {
		ser.Metric = name
		r.Observe(ser, v)
	}
	at(op+".Latency", float64(time.Since(start).Microseconds())/1000)
	at(op+".Requests", 1)
	if throttled > 0 {
		at("ThrottledRecords", float64(throttled))
	}
	if records == 0 {
		return
	}
	at(op+".Bytes", float64(bytes))
	if op == "PutRecordBatch" {
		at("PutRecordBatch.Records", float64(records))
	}
	at("IncomingPutRequests", 1)
	at("IncomingRecords", float64(records))
	at("IncomingBytes", float64(bytes))
}
