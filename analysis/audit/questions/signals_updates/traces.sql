-- Which signals and updates did each run receive, and which were rejected? Worker-side handler spans: a
-- HandleSignal or HandleUpdate span ran the handler; a ValidateUpdate span in error is the validator's refusal.
SELECT workflow_type, run_id,
       CASE WHEN name LIKE 'HandleSignal:%' THEN 'signal ' ELSE 'update ' END
           || regexp_extract(name, ':(.+)$', 1)
           || CASE WHEN name LIKE 'ValidateUpdate:%' THEN ' rejected' ELSE ' accepted' END AS subject,
       count(*) AS value, NULL AS detail
FROM audit_spans
WHERE run_id IS NOT NULL
  AND (regexp_matches(name, '^(HandleSignal|HandleUpdate):') OR (name LIKE 'ValidateUpdate:%' AND status_code = 'ERROR'))
GROUP BY ALL;
