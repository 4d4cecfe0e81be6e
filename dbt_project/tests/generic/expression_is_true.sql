{#
    Fails for every row where `expression` is not true (false or null). Model-level, or column-level
    with the column name prepended to the expression (`expression: ">= 0"`).
#}
{% test expression_is_true(model, expression, column_name=none) %}

    select *
    from {{ model }}
    {% if column_name is none -%}
        where not coalesce(({{ expression }}), false)
    {%- else -%}
        where not coalesce(({{ column_name }} {{ expression }}), false)
    {%- endif %}

{% endtest %}
