-- Revenue per day and user country. Transactions of users unknown to the application database are
-- counted under country `ZZ` (ISO 3166 user-assigned code for "unknown"), so the totals equal the facts.
with

transactions as (
    select * from {{ ref('fct_transactions') }}
),

daily as (
    select
        -- strings
        coalesce(country_code, 'ZZ')::text as country_code,

        -- numerics
        count(*)::bigint as transaction_count,
        count(distinct user_id)::bigint as customer_count,
        sum(total_cost_usd)::numeric(16, 2) as revenue_usd,
        count(*) filter (where is_orphan)::bigint as orphan_transaction_count,

        -- dates
        transaction_date as revenue_date

    from transactions
    group by transaction_date, coalesce(country_code, 'ZZ')
)

select * from daily
