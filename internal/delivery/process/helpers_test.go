package process

import (
	"context"
	"testing"

	"github.com/rivulet/rivulet/internal/firehose/model"
)

func str(s string) *string { return &s }

func processor(typ string, kv ...string) model.Processor {
	p := model.Processor{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Parameters = append(p.Parameters, model.ProcessorParameter{ParameterName: kv[i], ParameterValue: str(kv[i+1])})
	}
	return p
}

func processing(ps ...model.Processor) *model.ProcessingConfiguration {
	on := true
	return &model.ProcessingConfiguration{Enabled: &on, Processors: ps}
}

func mustNew(t *testing.T, cfg *model.ProcessingConfiguration, opts Options) *Pipeline {
	t.Helper()
	p, err := New(cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func mustRun(t *testing.T, p *Pipeline, recs []Record) ([]Record, []Failed) {
	t.Helper()
	out, failed, err := p.Run(context.Background(), recs)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out, failed
}

func datas(recs []Record) []string {
	var s []string
	for _, r := range recs {
		s = append(s, string(r.Data))
	}
	return s
}

func ids(recs []Record) []string {
	var s []string
	for _, r := range recs {
		s = append(s, r.ID)
	}
	return s
}
