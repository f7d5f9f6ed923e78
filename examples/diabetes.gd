# Linear regression on ten features: disease progression one year on (Y) from age, sex, body
# mass index, blood pressure and six blood serum measurements (x1..x10 in diabetes.csv, so
# d = 10: the data set the size). One weight per feature, found by least squares.
data x[d], Y
param w[d] = 0, b = 0
model y = dot(w, x) + b
loss mean((y - Y)^2)
