package otelvendoroauth_test

import (
	"context"
	"fmt"
	"log"
	"math"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/otelvendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// The metrics of one fetch, read with a ManualReader. A service would give
// NewObserver its own MeterProvider (one with a Prometheus or OTLP
// exporter), or none for the global one.
func ExampleNewObserver() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	ctx := srv.Context(context.Background())

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	obs, err := otelvendoroauth.NewObserver(otelvendoroauth.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}

	src := vendoroauth.FormlabsTokenSource(ctx, "my-client-id", "my-client-secret",
		vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithObserver(obs))
	defer src.Close()
	for range 10 {
		if _, err := src.Token(); err != nil { // one fetch, nine cached reads
			log.Fatal(err)
		}
	}

	var rm metricdata.ResourceMetrics
	enc := attribute.DefaultEncoder()
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					fmt.Printf("%s: %d fetch {%s}\n", m.Name, dp.Count, dp.Attributes.Encoded(enc))
				}
			case metricdata.Gauge[float64]:
				for _, dp := range d.DataPoints {
					fmt.Printf("%s: %vh {%s}\n", m.Name, math.Round(dp.Value/3600), dp.Attributes.Encoded(enc))
				}
			}
		}
	}
	// Output:
	// vendoroauth.token.fetch.duration: 1 fetch {vendoroauth.fetch.reason=initial,vendoroauth.token.origin=vendor,vendoroauth.vendor=formlabs}
	// vendoroauth.token.time_to_expiry: 24h {vendoroauth.vendor=formlabs}
}
