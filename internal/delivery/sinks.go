package delivery

import (
	"context"

	"github.com/rivulet/rivulet/internal/delivery/dest"
	"github.com/rivulet/rivulet/internal/delivery/dest/httpendpoint"
	"github.com/rivulet/rivulet/internal/delivery/dest/postgres"
	"github.com/rivulet/rivulet/internal/firehose/model"
)

func (e *Engine) newHTTPSink(ds *model.DeliveryStream, c *model.HttpEndpointDestinationConfiguration) (dest.Sink, error) {
	cfg := httpendpoint.Config{SourceARN: ds.ARN(), Now: e.cfg.Now}
	if !e.ownHTTP {
		cfg.HTTPClient = e.cfg.HTTPClient
	}
	if ep := c.EndpointConfiguration; ep != nil {
		cfg.URL = model.Str(ep.Url)
		cfg.Name = model.Str(ep.Name)
		cfg.AccessKey = model.Str(ep.AccessKey)
	}
	if rc := c.RequestConfiguration; rc != nil {
		cfg.ContentEncoding = rc.ContentEncoding
		if len(rc.CommonAttributes) > 0 {
			cfg.CommonAttributes = map[string]string{}
			for _, a := range rc.CommonAttributes {
				cfg.CommonAttributes[model.Str(a.AttributeName)] = model.Str(a.AttributeValue)
			}
		}
	}
	return httpendpoint.New(cfg)
}

func (e *Engine) newPostgresSink(ds *model.DeliveryStream, c *model.RedshiftDestinationConfiguration) (dest.Sink, error) {
	cfg := postgres.Config{
		JDBCURL:  model.Str(c.ClusterJDBCURL),
		Username: model.Str(c.Username),
		Password: model.Str(c.Password),
		Objects:  e.cfg.Objects,
		Logger:   e.cfg.Logger.With("deliveryStream", ds.Name),
	}
	if cc := c.CopyCommand; cc != nil {
		cfg.Table = model.Str(cc.DataTableName)
		cfg.Columns = model.Str(cc.DataTableColumns)
		cfg.CopyOptions = model.Str(cc.CopyOptions)
	}
	// New does not connect; the context only satisfies its contract.
	return postgres.New(context.Background(), cfg)
}
