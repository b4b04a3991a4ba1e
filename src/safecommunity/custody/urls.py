from django.urls import path

from safecommunity.custody import views

app_name = "custody"
urlpatterns = [
    path("", views.item_list, name="list"),
    path("receive/", views.item_receive, name="receive"),
    path("owners/", views.owner_options, name="owner_options"),
    path("<int:pk>/", views.item_detail, name="detail"),
    path("<int:pk>/return/", views.item_return, name="return"),
    path("<int:pk>/transfer/", views.item_transfer, name="transfer"),
    path("<int:pk>/dispose/", views.item_dispose, name="dispose"),
    path("<int:pk>/check/", views.item_check, name="check"),
]
