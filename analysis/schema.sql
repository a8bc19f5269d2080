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
-- unit of both, naming the scope. A unit not right is a row with its outcome and one cause (analysis/causes.py); a
-- unit right (most are) is a row with its name alone.
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
CREATE TABLE IF NOT EXISTS answerability_right_all (
    question_id VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    unit        VARCHAR NOT NULL     -- a unit this source got right
);
CREATE TABLE IF NOT EXISTS answerability_right_retained (
    question_id VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    unit        VARCHAR NOT NULL
);
CREATE OR REPLACE VIEW answerability_units AS
    SELECT 'all' AS scope, question_id, source, unit, outcome, cause, detail FROM answerability_units_all
    UNION ALL SELECT 'all', question_id, source, unit, 'right', NULL, NULL FROM answerability_right_all
    UNION ALL SELECT 'retained', question_id, source, unit, outcome, cause, detail FROM answerability_units_retained
    UNION ALL SELECT 'retained', question_id, source, unit, 'right', NULL, NULL FROM answerability_right_retained;
