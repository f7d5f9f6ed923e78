# Ridge regression: least squares plus an L2 penalty that keeps m and b small.
model y = m*x + b
loss mean((y - Y)^2) + 0.01*(m^2 + b^2)
