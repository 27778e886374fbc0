package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/rivulet/rivulet/internal/delivery/prefix"
	"github.com/rivulet/rivulet/internal/delivery/process"
	"github.com/rivulet/rivulet/internal/firehose/model"
)

// Error records, one JSON line per failed record, with AWS's members for
// each error output type.

type processingFailed struct {
	AttemptsMade           int    `json:"attemptsMade"`
	ArrivalTimestamp       int64  `json:"arrivalTimestamp"`
	ErrorCode              string `json:"errorCode"`
	ErrorMessage           string `json:"errorMessage"`
	AttemptEndingTimestamp int64  `json:"attemptEndingTimestamp"`
	RawData                []byte `json:"rawData"`
	LambdaARN              string `json:"lambdaArn,omitempty"`
}

type dataCatalogTable struct {
	CatalogID    string `json:"catalogId,omitempty"`
	DatabaseName string `json:"databaseName,omitempty"`
	TableName    string `json:"tableName,omitempty"`
	Region       string `json:"region,omitempty"`
	VersionID    string `json:"versionId,omitempty"`
	CatalogARN   string `json:"catalogArn,omitempty"`
}

type formatConversionFailed struct {
	AttemptsMade           int              `json:"attemptsMade"`
	ArrivalTimestamp       int64            `json:"arrivalTimestamp"`
	LastErrorCode          string           `json:"lastErrorCode"`
	LastErrorMessage       string           `json:"lastErrorMessage"`
	AttemptEndingTimestamp int64            `json:"attemptEndingTimestamp"`
	RawData                []byte           `json:"rawData"`
	SequenceNumber         string           `json:"sequenceNumber"`
	SubSequenceNumber      uint64           `json:"subSequenceNumber"`
	DataCatalogTable       dataCatalogTable `json:"dataCatalogTable"`
}

type httpFailed struct {
	AttemptsMade           int    `json:"attemptsMade"`
	ArrivalTimestamp       int64  `json:"arrivalTimestamp"`
	ErrorCode              string `json:"errorCode"`
	ErrorMessage           string `json:"errorMessage"`
	AttemptEndingTimestamp int64  `json:"attemptEndingTimestamp"`
	RawData                []byte `json:"rawData"`
	SubsequenceNumber      uint64 `json:"subsequenceNumber"`
	DataID                 string `json:"dataId"`
}

// setAside queues one error record for the batch's error object of its
// type.
func (d *delivery) setAside(errType string, arrival time.Time, rec any) {
	// Only strings, numbers and bytes: marshalling cannot fail.
	line, _ := json.Marshal(rec)
	if d.errTime == nil {
		d.errTime = map[string]time.Time{}
	}
	if t, ok := d.errTime[errType]; !ok || arrival.Before(t) {
		d.errTime[errType] = arrival
	}
	d.errs[errType] = append(d.errs[errType], line)
}

// conversionFailures sets aside the records the converter refused.
func (d *delivery) conversionFailures(recs []process.Record, bad map[int]string) {
	if len(bad) == 0 {
		return
	}
	var table dataCatalogTable
	if c := d.ds.Destination.ExtendedS3; c != nil && c.DataFormatConversionConfiguration != nil {
		if sc := c.DataFormatConversionConfiguration.SchemaConfiguration; sc != nil {
			table = dataCatalogTable{CatalogID: model.Str(sc.CatalogId), DatabaseName: model.Str(sc.DatabaseName),
				TableName: model.Str(sc.TableName), Region: model.Str(sc.Region), VersionID: model.Str(sc.VersionId)}
		}
	}
	idx := make([]int, 0, len(bad))
	for i := range bad {
		if i >= 0 && i < len(recs) {
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	now := d.e.cfg.Now().UnixMilli()
	for _, i := range idx {
		r := recs[i]
		seq, sub := r.ID, uint64(0)
		if r.Kinesis != nil {
			seq, sub = r.Kinesis.SequenceNumber, r.Kinesis.SubsequenceNumber
		}
		d.setAside(ErrFormatConversion, r.Arrival, formatConversionFailed{
			AttemptsMade: 1, ArrivalTimestamp: r.Arrival.UnixMilli(),
			LastErrorCode: "DataFormatConversion.MalformedData", LastErrorMessage: bad[i],
			AttemptEndingTimestamp: now, RawData: r.Data,
			SequenceNumber: seq, SubSequenceNumber: sub, DataCatalogTable: table,
		})
	}
}

// flushErrors writes each error type's records as one object of JSON
// lines, compressed as the destination's objects, under ErrorOutputPrefix
// (or AWS's default error path).
func (d *delivery) flushErrors(ctx context.Context) error {
	types := make([]string, 0, len(d.errs))
	for t := range d.errs {
		types = append(types, t)
	}
	sort.Strings(types)
	l := d.p.out
	for _, typ := range types {
		t := d.errTime[typ]
		var pfx string
		if l.errPrefix != nil {
			var err error
			pfx, err = l.errPrefix.Eval(prefix.Values{Time: t, Location: l.loc, ErrorType: typ, Random: randomStrings(d.b.ID, "error", typ)})
			if err != nil {
				d.e.cfg.Logger.Error("delivery: error prefix evaluation failed; using the default", "deliveryStream", d.ds.Name, "err", err)
				pfx = prefix.DefaultErrorPrefix(typ, t, l.loc)
			}
		} else {
			pfx = prefix.DefaultErrorOutput(l.rawPrefix, typ, t, l.loc)
		}
		var body bytes.Buffer
		for _, line := range d.errs[typ] {
			body.Write(line)
			body.WriteByte('\n')
		}
		if err := d.putObject(ctx, l, pfx, t, stableID(d.b.ID, "error", typ), "", "", body.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
