-- Which spans name a parent that is not stored (orphans), per service and instrumentation?
SELECT coalesce(c.service_name, '(unnamed)') AS service_name, c.instrumentation, count(*) AS spans,
       count(*) FILTER (WHERE c.parent_span_id IS NOT NULL AND p.span_id IS NULL) AS orphans,
       list(c.name ORDER BY c.name) FILTER (WHERE c.parent_span_id IS NOT NULL AND p.span_id IS NULL)[1:5] AS examples
FROM audit_spans c
LEFT JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
GROUP BY ALL
ORDER BY service_name, c.instrumentation;
