-- Which services appear in spans, which in logs, how each is instrumented and what its instrumentation lacks?
WITH span_services AS (
    SELECT service_name, string_agg(DISTINCT instrumentation, ', ' ORDER BY instrumentation) AS instrumentation,
           count(*) AS spans,
           count(*) FILTER (WHERE is_attempt AND attempt IS NULL) AS attempt_spans_without_attempt,
           count(*) FILTER (WHERE name LIKE 'RunWorkflow:%' AND duration_ms = 0) AS zero_length_workflow_spans
    FROM audit_spans WHERE service_name IS NOT NULL GROUP BY ALL
), log_services AS (
    SELECT service_name, count(*) AS records FROM logs WHERE service_name IS NOT NULL GROUP BY ALL
)
SELECT coalesce(s.service_name, l.service_name) AS service_name, coalesce(s.instrumentation, 'none') AS instrumentation,
       coalesce(s.spans, 0) AS spans, coalesce(l.records, 0) AS log_records,
       s.service_name IS NOT NULL AS in_spans, l.service_name IS NOT NULL AS in_logs,
       concat_ws('; ',
           CASE WHEN s.attempt_spans_without_attempt > 0 THEN 'no attempt number on attempt spans' END,
           CASE WHEN s.zero_length_workflow_spans > 0 THEN 'zero-length workflow spans' END,
           CASE WHEN s.service_name IS NULL THEN 'no spans' END,
           CASE WHEN l.service_name IS NULL THEN 'no log records' END) AS lacks
FROM span_services s
FULL OUTER JOIN log_services l ON l.service_name = s.service_name
ORDER BY service_name;
