param w[3], b
data x[5], Y
model y = dot(w, x) + b
loss mean((y - Y)^2)
