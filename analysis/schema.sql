-- Tables the analysis writes. The source tables are the collectors' (collectors/schema.sql); ground truth is the
-- sample app's (sample_app/ground_truth.sql).

-- The answerability matrix over every order: one row per question and source.
CREATE TABLE IF NOT EXISTS answerability (
    question_id  VARCHAR NOT NULL,
    question     VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    verdict      VARCHAR NOT NULL,   -- 'answers', 'partial' or 'cannot'
    fraction     DOUBLE NOT NULL,    -- share of units (orders, or groups) answered completely and correctly
    reason       VARCHAR NOT NULL,   -- for a partial or cannot: every cause with its count and an example unit
    orders_right INTEGER NOT NULL,
    orders_total INTEGER NOT NULL,
    PRIMARY KEY (question_id, source)
);
-- Added later: databases scored before keep their table and gain the columns.
ALTER TABLE answerability ADD COLUMN IF NOT EXISTS n INTEGER;            -- units judged (= orders_total)
ALTER TABLE answerability ADD COLUMN IF NOT EXISTS ci_low DOUBLE;        -- Wilson 95% interval of the fraction (NULL: n = 0)
ALTER TABLE answerability ADD COLUMN IF NOT EXISTS ci_high DOUBLE;
ALTER TABLE answerability ADD COLUMN IF NOT EXISTS few_cases BOOLEAN;    -- 0 < n < 5: the fraction says little

-- The same matrix without the runs that were deleted (what an operator sees inside retention).
CREATE TABLE IF NOT EXISTS answerability_retained AS SELECT * FROM answerability LIMIT 0;

-- Every judged unit of every cell, in tables per scope (_all for table answerability, _retained for
-- answerability_retained), each replaced whole when its scope is scored; the view answerability_units reads every
-- unit of both, naming the scope. A unit not right is a row with its outcome and one cause (analysis/causes.py).
-- Every source a question judged is judged on the same units (the truth's), stored once per question: the units a
-- source got right (most) are those without a row among its units not right.
CREATE TABLE IF NOT EXISTS answerability_units_all (
    question_id VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    unit        VARCHAR NOT NULL,    -- the order id, or the group's values joined by ' / '
    outcome     VARCHAR NOT NULL,    -- 'missing', 'incomplete' or 'wrong'
    cause       VARCHAR NOT NULL,
    detail      VARCHAR
);
CREATE TABLE IF NOT EXISTS answerability_units_retained (
    question_id VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    unit        VARCHAR NOT NULL,
    outcome     VARCHAR NOT NULL,
    cause       VARCHAR NOT NULL,
    detail      VARCHAR
);
CREATE TABLE IF NOT EXISTS answerability_judged_all (
    question_id VARCHAR NOT NULL,
    unit        VARCHAR NOT NULL     -- a unit the question judged each of its judged sources on
);
CREATE TABLE IF NOT EXISTS answerability_judged_retained (
    question_id VARCHAR NOT NULL,
    unit        VARCHAR NOT NULL
);
-- A judged source is one whose cell counts units (a `cannot` counts none).
CREATE OR REPLACE VIEW answerability_units AS
    SELECT 'all' AS scope, question_id, source, unit, outcome, cause, detail FROM answerability_units_all
    UNION ALL
    SELECT 'all', j.question_id, c.source, j.unit, 'right', NULL, NULL
    FROM answerability_judged_all AS j JOIN answerability AS c ON c.question_id = j.question_id AND c.orders_total > 0
    WHERE NOT EXISTS (SELECT 1 FROM answerability_units_all AS n
                      WHERE n.question_id = j.question_id AND n.source = c.source AND n.unit = j.unit)
    UNION ALL
    SELECT 'retained', question_id, source, unit, outcome, cause, detail FROM answerability_units_retained
    UNION ALL
    SELECT 'retained', j.question_id, c.source, j.unit, 'right', NULL, NULL
    FROM answerability_judged_retained AS j
    JOIN answerability_retained AS c ON c.question_id = j.question_id AND c.orders_total > 0
    WHERE NOT EXISTS (SELECT 1 FROM answerability_units_retained AS n
                      WHERE n.question_id = j.question_id AND n.source = c.source AND n.unit = j.unit);
