from django.urls import URLPattern

app_name = "find_officer"
urlpatterns: list[URLPattern] = []
