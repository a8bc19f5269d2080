-- Which runs started children and which continued as new? A child's RunWorkflow span whose parent is a
-- StartChildWorkflow span of the parent run; a RunWorkflow span whose outcome is continued_as_new.
SELECT p.workflow_type, p.run_id, 'child ' || c.workflow_id AS subject,
       regexp_extract(c.name, '^RunWorkflow:(.+)$', 1) AS value, NULL AS detail
FROM audit_spans c
JOIN audit_spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
WHERE c.name LIKE 'RunWorkflow:%' AND p.name LIKE 'StartChildWorkflow:%' AND p.run_id IS NOT NULL
UNION ALL
SELECT workflow_type, run_id, 'continued as new', NULL, NULL
FROM audit_spans
WHERE name LIKE 'RunWorkflow:%' AND outcome = 'continued_as_new' AND run_id IS NOT NULL;
