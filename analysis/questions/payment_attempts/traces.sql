-- How many attempts did payment authorization take for order X, and what failed on each? One span per attempt.
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       attempt,
       CASE WHEN status_code = 'ERROR' THEN events->>'$[0].attributes."exception.message"' END AS error
FROM spans
WHERE name = 'RunActivity:authorize_payment' AND workflow_id LIKE 'order-%' AND source <> 'history';
