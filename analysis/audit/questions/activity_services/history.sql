-- Which service ran each activity? History names the worker identity (pid@host unless set) that started the
-- last attempt, and the task queue it was scheduled on.
SELECT workflow_type, run_id, activity_id AS subject, identity AS value, task_queue AS detail
FROM audit_activities
WHERE identity IS NOT NULL;
