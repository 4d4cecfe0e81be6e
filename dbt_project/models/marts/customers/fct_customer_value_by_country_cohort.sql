-- Customer lifetime value by user country, monthly purchase cohort and horizon. Customers unknown to the
-- application database count under country `ZZ`, so the totals equal customer_lifetime_value.
with

lifetime_values as (
    select * from {{ ref('customer_lifetime_value') }}
),

rfm as (
    select * from {{ ref('int_customers_rfm') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

customers as (
    select
        lifetime_values.horizon_days,
        lifetime_values.probability_alive,
        lifetime_values.expected_purchases,
        lifetime_values.clv_usd,
        lifetime_values.observation_end,
        rfm.total_spend_usd,
        coalesce(users.country_code, 'ZZ') as country_code,
        date_trunc('month', rfm.first_purchase_date)::date as cohort_month
    from lifetime_values
    inner join rfm
        on lifetime_values.user_id = rfm.user_id
    left join users
        on lifetime_values.user_id = users.user_id
),

by_country_cohort as (
    select
        -- strings
        country_code::text as country_code,

        -- numerics
        horizon_days::integer as horizon_days,
        count(*)::bigint as customer_count,
        avg(probability_alive)::double precision as mean_probability_alive,
        sum(expected_purchases)::double precision as expected_purchases,
        sum(clv_usd)::numeric(16, 2) as clv_usd,
        (sum(clv_usd) / count(*))::numeric(14, 2) as mean_clv_usd,
        sum(total_spend_usd)::numeric(16, 2) as observed_spend_usd,

        -- dates
        cohort_month,
        max(observation_end) as observation_end_date

    from customers
    group by country_code, cohort_month, horizon_days
)

select * from by_country_cohort
