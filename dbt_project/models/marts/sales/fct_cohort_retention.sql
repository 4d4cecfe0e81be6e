-- Monthly purchase cohorts: customers by the month of their first purchase, and how many of them bought
-- again in each later month (month 0 = the cohort month, where every customer is active). Every month
-- from the cohort month to the last month with data has a row, with zero when nobody bought.
with

daily_purchases as (
    select * from {{ ref('int_customer_daily_purchases') }}
),

customer_months as (
    select distinct
        user_id,
        date_trunc('month', purchase_date)::date as activity_month,
        (extract(year from purchase_date) * 12 + extract(month from purchase_date))::integer as month_index
    from daily_purchases
),

cohorts as (
    select
        user_id,
        min(activity_month) as cohort_month,
        min(month_index) as cohort_month_index
    from customer_months
    group by user_id
),

cohort_sizes as (
    select
        cohort_month,
        cohort_month_index,
        count(*) as cohort_size
    from cohorts
    group by cohort_month, cohort_month_index
),

last_month as (
    select max(month_index) as last_month_index
    from customer_months
),

cohort_months as (
    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_size,
        month_offset.month_number
    from cohort_sizes
    cross join last_month
    cross join lateral generate_series(
        0, last_month.last_month_index - cohort_sizes.cohort_month_index
    ) as month_offset (month_number)
),

active as (
    select
        cohorts.cohort_month,
        customer_months.month_index - cohorts.cohort_month_index as month_number,
        count(*) as active_customers
    from customer_months
    inner join cohorts
        on customer_months.user_id = cohorts.user_id
    group by cohorts.cohort_month, customer_months.month_index - cohorts.cohort_month_index
),

retention as (
    select
        -- numerics
        cohort_months.month_number,
        cohort_months.cohort_size::bigint as cohort_size,
        coalesce(active.active_customers, 0)::bigint as active_customers,
        coalesce(active.active_customers, 0)::double precision / cohort_months.cohort_size as retention_rate,

        -- dates
        cohort_months.cohort_month,
        (cohort_months.cohort_month + make_interval(months => cohort_months.month_number))::date
            as activity_month

    from cohort_months
    left join active
        on
            cohort_months.cohort_month = active.cohort_month
            and cohort_months.month_number = active.month_number
)

select * from retention
