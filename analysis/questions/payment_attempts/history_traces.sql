-- How many attempts did payment authorization take for order X, and what failed on each? The synthesized span of
-- the last attempt (its number, and its error if it failed) and that span's 'retry' event, which names the previous
-- attempt and its failure: the same derivation as history's, from the same evidence; earlier attempts left nothing.
WITH last AS (
    SELECT workflow_id, attempt, CASE WHEN status_code = 'ERROR' THEN status_message END AS error, events
    FROM spans
    WHERE source = 'history' AND name = 'RunActivity:authorize_payment' AND workflow_id LIKE 'order-%'
)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id, attempt, error FROM last
UNION ALL
SELECT CASE WHEN l.workflow_id LIKE 'order-%' THEN substr(l.workflow_id, 7) ELSE l.workflow_id END,
       CAST(r.ev->>'$.attributes."temporal.previous_attempt"' AS INTEGER),
       r.ev->>'$.attributes."exception.message"'
FROM last l, LATERAL (SELECT unnest(CAST(l.events AS JSON[])) AS ev) r
WHERE r.ev->>'name' = 'retry';
