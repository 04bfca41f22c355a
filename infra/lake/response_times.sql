-- Response times: cases first answered in the last 28 days, by team: how many, the average
-- wait in minutes, and the share answered within an hour.
WITH answered AS (
    SELECT DISTINCT case_ref, team, first_response_seconds
    FROM interactions
    WHERE dt >= CAST(CAST(current_date - INTERVAL '28' DAY AS date) AS varchar)
      AND first_response_seconds IS NOT NULL
)
SELECT team,
       count(*) AS cases_answered,
       round(avg(first_response_seconds) / 60.0, 1) AS avg_minutes,
       round(100.0 * sum(CASE WHEN first_response_seconds <= 3600 THEN 1 ELSE 0 END) / count(*), 1)
           AS within_hour_pct
FROM answered
GROUP BY team
ORDER BY cases_answered DESC, team;
