-- Which signals and updates did order X receive, and was each accepted? What the driver sent (a rejected update is
-- one the validator must refuse).
SELECT DISTINCT order_id, kind, name, accepted
FROM ground_truth_interactions
WHERE kind IN ('signal', 'update');
