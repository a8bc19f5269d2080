-- Has open order X waited for its payment confirmation longer than T at moment t? The status query answered at t says
-- 'awaiting_payment'; since when, the run's own history as the Web UI showed it at t tells (its last
-- UpsertWorkflowSearchAttributes up to t; one run's events, nothing across runs).
WITH asked AS (
    SELECT i.workflow_id, i.moment, arg_min(q.answer->>'$', q.asked_at) AS status
    FROM (SELECT * FROM observed_instants WHERE api = 'query') i
    JOIN temporal_observations q
      ON q.workflow_id = i.workflow_id AND q.api = 'query' AND q.query_name = 'status' AND q.phase = 'open'
     AND q.answered AND q.observed_at = i.moment
    GROUP BY ALL
), awaiting AS (
    SELECT workflow_id, event_time FROM history_events
    WHERE event_type = 'UpsertWorkflowSearchAttributes'
      -- the text tested first: only an event whose JSON holds the word is parsed
      AND contains(attributes, 'awaiting_payment')
      AND attributes->>'$.searchAttributes.indexedFields.OrderStatus.data' = 'awaiting_payment'
), since AS (
    SELECT a.workflow_id, a.moment, max(h.event_time) AS since
    FROM asked a
    JOIN awaiting h ON h.workflow_id = a.workflow_id AND h.event_time <= a.moment
    WHERE a.status = 'awaiting_payment'
    GROUP BY ALL
)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id, moment,
       date_diff('millisecond', since, moment) > $longer_than_ms AS longer
FROM since;
