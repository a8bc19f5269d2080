-- What share of log records carry a trace id, and the Temporal keys (workflow id and run id), per service?
SELECT coalesce(service_name, '(unnamed)') AS service_name, count(*) AS records,
       count(*) FILTER (WHERE trace_id IS NOT NULL) AS with_trace_id,
       round(count(*) FILTER (WHERE trace_id IS NOT NULL) / count(*), 4) AS trace_id_share,
       count(*) FILTER (WHERE workflow_id IS NOT NULL AND run_id IS NOT NULL) AS with_temporal_keys,
       round(count(*) FILTER (WHERE workflow_id IS NOT NULL AND run_id IS NOT NULL) / count(*), 4) AS temporal_keys_share
FROM logs
GROUP BY ALL
ORDER BY service_name;
