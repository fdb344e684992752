package dev.checkmate.relay.telemetry;

import java.util.Map;

/**
 * The part of the relay's configuration telemetry works with, and nothing else. Built from the one
 * {@code RelayConfig} by {@code RelayConfig.telemetrySettings()}.
 *
 * @param auditLog which {@code relay.audit} lines are written
 * @param bindAddress the address the Prometheus endpoint listens on
 * @param metricsPort the Prometheus endpoint's port; 0 = any, -1 = off
 * @param properties OpenTelemetry autoconfigure properties ({@code otel.*}) set by embedding code and tests
 */
public record TelemetrySettings(AuditLevel auditLog, String bindAddress, int metricsPort, Map<String, String> properties) {
  public TelemetrySettings {
    properties = Map.copyOf(properties);
  }
}
