-- What was open order X's status at moment t? The workflow's status query whose answer arrived at t (asked right
-- after a Describe found the run open).
SELECT CASE WHEN i.workflow_id LIKE 'order-%' THEN substr(i.workflow_id, 7) ELSE i.workflow_id END AS order_id, i.moment, arg_min(q.answer->>'$', q.asked_at) AS status
FROM (SELECT * FROM observed_instants WHERE api = 'query') i
JOIN temporal_observations q
  ON q.workflow_id = i.workflow_id AND q.api = 'query' AND q.query_name = 'status' AND q.phase = 'open'
 AND q.answered AND q.observed_at = i.moment
GROUP BY ALL;
