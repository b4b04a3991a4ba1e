from django.urls import URLPattern

app_name = "resident"
urlpatterns: list[URLPattern] = []
