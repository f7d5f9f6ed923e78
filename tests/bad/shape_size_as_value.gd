param w[d]
data x[d], Y
model y = dot(w, x) / d
loss mean((y - Y)^2)
