{#
    Fails when the newest `field` value is older than `interval` `datepart`s before now (or there is none).
    Use it on load times (e.g. `loaded_at`), not on business dates of replayed data.
#}
{% test recency(model, field, datepart, interval) %}

    with

    newest as (
        select max({{ field }}) as newest_value
        from {{ model }}
    )

    select newest_value
    from newest
    where
        newest_value is null
        or newest_value < now() - interval '{{ interval | int }} {{ datepart }}'

{% endtest %}
