{#
    RFM summary per customer for the BG/NBD and Gamma-Gamma models (lifetimes' convention):
    frequency = repeat purchase days, recency = first to last purchase, T = first purchase to the
    observation end, monetary value = mean daily spend over the repeat purchase days (0 without any).
    dbt vars: clv_time_unit (day | week; weeks are fractional, days / 7) and clv_observation_end
    (a date; null = the last transaction date). Purchases after the observation end are ignored.
#}
{%- set time_unit = var('clv_time_unit') -%}
{%- if time_unit not in ['day', 'week'] -%}
    {{ exceptions.raise_compiler_error(
        "var clv_time_unit must be 'day' or 'week', not '" ~ time_unit ~ "'"
    ) }}
{%- endif -%}
{%- set days_per_unit = 7 if time_unit == 'week' else 1 -%}
{%- set observation_end = var('clv_observation_end') -%}

with

daily_purchases as (
    select * from {{ ref('int_customer_daily_purchases') }}
),

observation as (
    {%- if observation_end %}
    select {{ dbt.string_literal(observation_end) }}::date as observation_end_date
    {%- else %}
    select max(purchase_date) as observation_end_date
    from daily_purchases
    {%- endif %}
),

observed_purchases as (
    select
        daily_purchases.user_id,
        daily_purchases.transaction_count,
        daily_purchases.daily_spend_usd,
        daily_purchases.purchase_date,
        observation.observation_end_date,
        row_number() over (
            partition by daily_purchases.user_id
            order by daily_purchases.purchase_date
        ) as purchase_number
    from daily_purchases
    cross join observation
    where daily_purchases.purchase_date <= observation.observation_end_date
),

customers as (
    select
        user_id,
        count(*) as purchase_day_count,
        sum(transaction_count) as transaction_count,
        sum(daily_spend_usd) as total_spend_usd,
        avg(daily_spend_usd) filter (where purchase_number > 1) as repeat_mean_spend_usd,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        max(observation_end_date) as observation_end_date
    from observed_purchases
    group by user_id
),

rfm as (
    select
        -- ids
        user_id,

        -- strings
        {{ dbt.string_literal(time_unit) }}::text as time_unit,

        -- numerics
        purchase_day_count - 1 as frequency,
        (last_purchase_date - first_purchase_date)::double precision / {{ days_per_unit }} as recency,
        (observation_end_date - first_purchase_date)::double precision / {{ days_per_unit }} as t,
        coalesce(repeat_mean_spend_usd, 0)::double precision as monetary_value,
        purchase_day_count,
        transaction_count,
        total_spend_usd,

        -- dates
        first_purchase_date,
        last_purchase_date,
        observation_end_date

    from customers
)

select * from rfm
