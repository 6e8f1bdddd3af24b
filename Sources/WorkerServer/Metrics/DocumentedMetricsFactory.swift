public import Metrics
public import Prometheus

/// The swift-metrics factory of the worker: swift-prometheus's metrics in one registry, made
/// with the HELP text and buckets of ``MetricCatalog``.
///
/// swift-prometheus's own `PrometheusMetricsFactory` registers every family with an empty help
/// (no `# HELP` line) and the registry traps when one name is registered with two help texts, so
/// HELP cannot be added afterwards: the families have to be made with it, which this factory does
/// through the registry's public `make…(descriptor:labels:)` API. A name missing from the catalog
/// gets no HELP line (the `/metrics` test fails on it).
public struct DocumentedMetricsFactory: MetricsFactory {
    /// The registry `GET /metrics` exposes.
    public let registry: PrometheusCollectorRegistry

    /// A factory writing into `registry`.
    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// The registry's name for `label`, with the catalog's HELP text (the whole name is `metricName`; no unit is appended).
    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: MetricCatalog.description(of: label)?.help ?? "")
    }

    private func valueBuckets(_ label: String) -> [Double] {
        MetricCatalog.description(of: label)?.buckets ?? Self.defaultBuckets
    }

    /// Seconds, as swift-prometheus's default duration buckets: 5 ms to 10 s.
    static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: valueBuckets(label))
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets = valueBuckets(label).map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        return registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }

}
