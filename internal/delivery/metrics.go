package delivery

import (
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/metrics"
)

// observe adds one AWS/Firehose sample for a delivery stream.
func (e *Engine) observe(ds *model.DeliveryStream, name string, v float64) {
	if e.cfg.Metrics == nil {
		return
	}
	e.cfg.Metrics.Observe(metrics.Series{Namespace: metrics.Firehose, Account: ds.Account, Region: ds.Region, Stream: ds.Name, Metric: name}, v)
}

// observeBatch counts a delivered batch under dest ("DeliveryToS3",
// "DeliveryToHttpEndpoint", "DeliveryToRedshift"): its source records and
// bytes, and DataFreshness, the age in seconds of its oldest record now
// that it is delivered. HTTP endpoint and Redshift successes are counted
// per batch; S3's per object (Engine.put).
func (e *Engine) observeBatch(ds *model.DeliveryStream, dest string, b Batch) {
	if e.cfg.Metrics == nil || len(b.Records) == 0 {
		return
	}
	n := 0
	oldest := b.Records[0].Arrival
	for _, r := range b.Records {
		n += len(r.Data)
		if r.Arrival.Before(oldest) {
			oldest = r.Arrival
		}
	}
	e.observe(ds, dest+".Records", float64(len(b.Records)))
	e.observe(ds, dest+".Bytes", float64(n))
	if dest != "DeliveryToS3" {
		e.observe(ds, dest+".Success", 1)
	}
	if !oldest.IsZero() {
		e.observe(ds, dest+".DataFreshness", max(e.cfg.Now().Sub(oldest).Seconds(), 0))
	}
}

func success(err error) float64 {
	if err == nil {
		return 1
	}
	return 0
}
